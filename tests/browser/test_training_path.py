"""The real-browser test of the whole path: data -> augmentation -> train (watch it live) ->
results (table, confusion matrix, a cell's images) -> predict -> runs.

One browser session clicks through the sidebar like a user (a fresh URL would start a new
Streamlit session). Training is 2 epochs of batch 16 on the bundled flowers in memory mode, with
the model the default recipe chooses, set as people set it (typed, then Start clicked at once),
with the shear changed on the Augmentation page; the run's ``config.json`` must record exactly
that. Every wait is for something the page shows or the run writes, never a fixed time.
Screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import choose_option, save_screenshot, wait_for_page
from ui.training import MODE_LINES

pytestmark = [pytest.mark.slow, pytest.mark.browser]

REPO_ROOT = Path(__file__).resolve().parents[2]
TRAINING_TIMEOUT_MS = 300_000
# How far the live chart has got: the largest epoch position of any point it shows (per-batch
# points of the epoch in progress, per-epoch points); -1 before the chart exists.
LATEST_POINT_JS = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')]
    .find(g => (g.data || []).some(t => t.name === 'training (per batch)'));
  if (!gd) return -1;
  const xs = gd.data.flatMap(t => Array.from(t.x || []));
  return xs.length ? Math.max(...xs) : 0;
}"""

# The centre of the largest diagonal cell (the chooser starts on a mistake, so clicking a correct
# cell changes it), in page coordinates.
CELL_TO_CLICK_JS = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')]
    .find(g => (g.data || []).some(t => t.type === 'heatmap'));
  const trace = gd.data[0];
  const rows = trace.y.length, cols = trace.x.length;
  const z = gd.calcdata[0][0].z;
  let best = null;
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++)
    if (r === c && z[r][c] > 0 && (!best || z[r][c] > best[2])) best = [r, c, z[r][c]];
  const area = gd.querySelector('.nsewdrag').getBoundingClientRect();
  const [r, c] = best;
  return [trace.y[r], trace.x[c],
          area.left + (c + 0.5) * area.width / cols, area.top + (r + 0.5) * area.height / rows];
}"""


@pytest.fixture(scope="module", autouse=True)
def _bundled_dataset() -> None:
    if not (REPO_ROOT / "data" / "flowers_train.csv").is_file():
        pytest.fail("the bundled dataset is missing: run `make data` (the test command does)")


def wait_for_images(page: Page) -> None:
    """Wait until the browser has decoded every image of the page (for the screenshots)."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stImage] img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )


def go_to(page: Page, label: str) -> None:
    """Click a page in the sidebar navigation; wait until that page's script has drawn its
    title and finished (the URL changes at once, before the server has run anything)."""
    page.get_by_test_id("stSidebar").get_by_role("link", name=label, exact=True).click()
    page.wait_for_url(f"**/{label}")
    wait_for_page(page, label)


def badge(page: Page, text: str):
    return page.locator("span.stMarkdownBadge").filter(has_text=text)


def recorded_config(run_dir: Path, timeout_s: float = 120.0) -> dict:
    """The run's ``config.json``, once the training process has written it."""
    deadline = time.monotonic() + timeout_s
    while not (run_dir / "config.json").exists():
        assert time.monotonic() < deadline, f"no config.json in {run_dir} after {timeout_s} s"
        time.sleep(0.2)
    return json.loads((run_dir / "config.json").read_text())


def test_train_watch_results_and_predict_in_the_browser(
    open_app_page, app_runs_dir: Path, screenshot_dir
) -> None:
    page = open_app_page("/Data")
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    go_to(page, "Augmentation")
    expect(page.get_by_test_id("stImage").first).to_be_visible()
    # One augmentation value changed by keyboard: shear 0.15 -> 0.20 (steps of 0.01). The note
    # under the sliders is drawn by the server from the settings it holds.
    shear = page.get_by_test_id("stSlider").filter(has_text="Shear").get_by_role("slider")
    shear.focus()
    for _ in range(5):
        shear.press("ArrowRight")
    expect(page.get_by_text("Shear 0.2 is about 11.3 degrees.")).to_be_visible()

    go_to(page, "Train")
    expect(page.get_by_text("shear 0.2 (≈11°)")).to_be_visible()
    # 2 epochs of batch 16 (24 steps each), in memory: long enough to watch points arrive.
    # Set as people do: pick the mode, type the numbers, and click Start right after typing,
    # with no Enter (the last value reaches the server together with the click).
    choose_option(page, "Training mode", "memory")
    expect(page.get_by_text(MODE_LINES["memory"])).to_be_visible()
    page.get_by_role("spinbutton", name="Batch size (images)", exact=True).fill("16")
    page.get_by_role("spinbutton", name="Epochs", exact=True).fill("2")
    page.get_by_role("button", name="Start training").click()
    expect(badge(page, "starting").or_(badge(page, "running"))).to_be_visible()
    heading = page.get_by_role("heading", name=re.compile(r"^Run \S+$"))
    expect(heading).to_be_visible()
    run_dir = app_runs_dir / heading.inner_text().removeprefix("Run ").strip()
    config = recorded_config(run_dir)
    assert config["settings"]["epochs"] == 2
    assert config["settings"]["batch_size"] == 16
    assert config["settings"]["mode"] == "memory"
    assert config["augment"]["shear"] == pytest.approx(0.2)

    # The live chart gains points while the run goes on: its latest point moves forward.
    page.wait_for_function(f"() => ({LATEST_POINT_JS})() > 0", timeout=TRAINING_TIMEOUT_MS)
    first = page.evaluate(LATEST_POINT_JS)
    page.wait_for_function(
        f"x => ({LATEST_POINT_JS})() > x", arg=first, timeout=TRAINING_TIMEOUT_MS
    )
    save_screenshot(page, screenshot_dir / "train-live.png")
    expect(badge(page, "finished")).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    # Drawn by the full rerun once the run has ended (the live view alone has no link).
    expect(page.get_by_test_id("stPageLink").filter(has_text="See the results")).to_be_visible()
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    save_screenshot(page, screenshot_dir / "train-finished.png")

    page.get_by_test_id("stPageLink").filter(has_text="See the results").click()
    page.wait_for_url("**/Results")
    wait_for_page(page, "Results")
    expect(page.get_by_test_id("stMetric").first).to_contain_text("Test accuracy")
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')]"
        ".filter(gd => (gd.data || []).some(t => t.type === 'heatmap')).length === 1"
    )
    expect(page.get_by_test_id("stImage").first).to_be_visible()
    # Clicking a heatmap cell chooses that cell and shows its images.
    page.locator(".js-plotly-plot .hm").first.scroll_into_view_if_needed()
    true_class, predicted_class, x, y = page.evaluate(CELL_TO_CLICK_JS)
    page.mouse.click(x, y)
    chooser = page.get_by_role("combobox", name=re.compile("^Show the images of"))
    expect(chooser).to_have_value(re.compile(f"^{true_class} → {predicted_class} "))
    expect(page.get_by_test_id("stImage").first).to_be_visible()
    wait_for_images(page)
    save_screenshot(page, screenshot_dir / "results.png")

    go_to(page, "Predict")
    page.get_by_test_id("stRadio").get_by_text("Test rows").click()
    expect(page.get_by_test_id("stImage")).to_have_count(6, timeout=120_000)
    # One top-k bar chart per image (plotly draws each chart a moment after its element).
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')]"
        ".filter(gd => (gd.data || []).some(t => t.type === 'bar')).length === 6"
    )
    wait_for_images(page)
    save_screenshot(page, screenshot_dir / "predict.png")
    # An uploaded photo (any size) is resized to the model's input and classified too.
    page.get_by_test_id("stRadio").get_by_text("Upload images").click()
    expect(page.get_by_test_id("stFileUploaderDropzoneInput")).to_be_attached()
    photo = sorted((REPO_ROOT / "data" / "flower_photos_64" / "images" / "daisy").glob("*.png"))[0]
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(photo))
    expect(page.get_by_test_id("stImage")).to_have_count(1, timeout=60_000)
    expect(page.get_by_test_id("stImage")).to_contain_text(photo.name)
    save_screenshot(page, screenshot_dir / "predict-upload.png")

    go_to(page, "Runs")
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(1)  # not the Predict page's
    expect(page.get_by_test_id("stPlotlyChart")).to_be_visible()
    save_screenshot(page, screenshot_dir / "runs.png")
