"""The real-browser test of the whole path: data -> augmentation -> train (watch it live) ->
results (table, confusion matrix, a cell's images) -> predict.

One browser session clicks through the sidebar like a user (a fresh URL would start a new
Streamlit session). Training is 2 epochs of MiniVGGNet on the bundled flowers in memory mode.
Screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import save_screenshot, wait_for_script_run

pytestmark = [pytest.mark.slow, pytest.mark.browser]

REPO_ROOT = Path(__file__).resolve().parents[2]
TRAINING_TIMEOUT_MS = 300_000
BATCH_TRACE_JS = """() => {
  const charts = [...document.querySelectorAll('.js-plotly-plot')]
    .filter(gd => (gd.data || []).some(t => t.name === 'training (per batch)'));
  if (!charts.length) return -1;
  const trace = charts[0].data.find(t => t.name === 'training (per batch)');
  return trace.x ? trace.x.length : 0;
}"""


@pytest.fixture(scope="module", autouse=True)
def _bundled_dataset() -> None:
    if not (REPO_ROOT / "data" / "flowers_train.csv").is_file():
        pytest.fail("the bundled dataset is missing: run `make data` (the test command does)")


def go_to(page: Page, label: str) -> None:
    """Click a page in the sidebar navigation and wait for its script to finish."""
    page.get_by_test_id("stSidebar").get_by_role("link", name=label, exact=True).click()
    page.wait_for_url(f"**/{label}")
    wait_for_script_run(page)


def badge(page: Page, text: str):
    return page.locator("span.stMarkdownBadge").filter(has_text=text)


def test_train_watch_results_and_predict_in_the_browser(open_app_page, screenshot_dir) -> None:
    page = open_app_page("/Data")
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    go_to(page, "Augmentation")
    expect(page.get_by_test_id("stImage").first).to_be_visible()

    go_to(page, "Train")
    epochs = page.get_by_role("spinbutton", name="Epochs (epochs)")
    epochs.fill("2")
    epochs.press("Enter")
    wait_for_script_run(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Training mode").click()
    page.get_by_role("option", name="memory").click()
    wait_for_script_run(page)
    page.get_by_role("button", name="Start training").click()
    expect(badge(page, "starting").or_(badge(page, "running"))).to_be_visible(timeout=30_000)

    # The live chart gains per-batch points while the run goes on.
    page.wait_for_function(f"() => ({BATCH_TRACE_JS})() > 0", timeout=TRAINING_TIMEOUT_MS)
    first_count = page.evaluate(BATCH_TRACE_JS)
    page.wait_for_function(
        f"n => ({BATCH_TRACE_JS})() > n", arg=first_count, timeout=TRAINING_TIMEOUT_MS
    )
    save_screenshot(page, screenshot_dir / "train-live.png")
    expect(badge(page, "finished")).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    wait_for_script_run(page)
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    save_screenshot(page, screenshot_dir / "train-finished.png")

    page.get_by_test_id("stPageLink").filter(has_text="See the results").click()
    page.wait_for_url("**/Results")
    wait_for_script_run(page)
    expect(page.get_by_test_id("stMetric").first).to_contain_text("Test accuracy")
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    heatmaps = page.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot')]"
        ".filter(gd => (gd.data || []).some(t => t.type === 'heatmap')).length"
    )
    assert heatmaps == 1
    expect(page.get_by_test_id("stImage").first).to_be_visible()
    save_screenshot(page, screenshot_dir / "results.png")

    go_to(page, "Predict")
    page.get_by_test_id("stRadio").get_by_text("Test rows").click()
    wait_for_script_run(page)
    expect(page.get_by_test_id("stImage")).to_have_count(6, timeout=120_000)
    bars = page.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot')]"
        ".filter(gd => (gd.data || []).some(t => t.type === 'bar')).length"
    )
    assert bars == 6
    save_screenshot(page, screenshot_dir / "predict.png")
