"""The real-browser test: Chromium opens Home, Data and Augmentation on a live server.

Checks that the key elements render (not just that the scripts ran): the home page's metrics
and page links, the Data page's bar chart and image grids, the Augmentation page's original,
variants and batch images, all decoded by the browser. Screenshots are saved under
``test-artifacts/screenshots/`` for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import save_screenshot, wait_for_page

pytestmark = [pytest.mark.slow, pytest.mark.browser]

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_CLASSES = 5


@pytest.fixture(scope="module", autouse=True)
def _bundled_dataset() -> None:
    if not (REPO_ROOT / "data" / "flowers_train.csv").is_file():
        pytest.fail("the bundled dataset is missing: run `make data` (the test command does)")


def loaded_images(page: Page, selector: str) -> int:
    """How many images under ``selector`` the browser has actually decoded."""
    return int(
        page.eval_on_selector_all(
            selector, "images => images.filter(i => i.complete && i.naturalWidth > 0).length"
        )
    )


def test_home_page_shows_dataset_and_the_way_through(open_app_page, screenshot_dir) -> None:
    page = open_app_page("/")
    expect(page.locator("h1").filter(has_text="flowerdash")).to_be_visible()
    expect(page.get_by_test_id("stMetric").first).to_contain_text("Training images")
    expect(page.get_by_test_id("stPageLink").filter(has_text="1. Data")).to_be_visible()
    save_screenshot(page, screenshot_dir / "home.png")


def test_page_link_leads_from_home_to_the_data_page(open_app_page) -> None:
    page = open_app_page("/")
    page.get_by_test_id("stPageLink").filter(has_text="1. Data").click()
    page.wait_for_url("**/Data")
    wait_for_page(page, "Data")


def test_data_page_draws_the_bar_chart_and_the_image_grid(open_app_page, screenshot_dir) -> None:
    page = open_app_page("/Data")
    chart = page.get_by_test_id("stPlotlyChart")
    # One chart: a rerun shows the previous run's elements until it has drawn their successors.
    expect(chart).to_have_count(1)
    expect(chart).to_be_visible()
    # Two bar series (train and test), one bar per class each.
    expect(chart.locator("g.trace.bars")).to_have_count(2)
    expect(chart.locator("g.point")).to_have_count(2 * BUNDLED_CLASSES)
    grids = page.get_by_test_id("stImage")
    expect(grids).to_have_count(BUNDLED_CLASSES)
    grids.last.scroll_into_view_if_needed()
    page.wait_for_function(
        "n => [...document.querySelectorAll('[data-testid=stImage] img')]"
        ".filter(i => i.complete && i.naturalWidth > 0).length >= n",
        arg=BUNDLED_CLASSES,
    )
    expect(page.get_by_text("Leak check")).to_be_visible()
    save_screenshot(page, screenshot_dir / "data.png")


def test_augmentation_page_shows_original_variants_and_batch(open_app_page, screenshot_dir) -> None:
    page = open_app_page("/Augmentation")
    expect(page.get_by_test_id("stSlider").first).to_be_visible()
    images = page.get_by_test_id("stImage")
    expect(images).to_have_count(3)
    expect(page.get_by_text("8 variants, seed 0")).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stImage] img')]"
        ".filter(i => i.complete && i.naturalWidth > 0).length >= 3"
    )
    assert loaded_images(page, "[data-testid=stImage] img") >= 3
    save_screenshot(page, screenshot_dir / "augmentation.png")


def test_uploaded_real_csv_is_inspected_and_previewed(
    open_app_page, screenshot_dir, real_csv_dir: Path
) -> None:
    page = open_app_page("/Data")
    page.get_by_text("Upload CSV files").click()
    folder = real_csv_dir / "sign_mnist_subset_noheader"
    uploaders = page.get_by_test_id("stFileUploaderDropzoneInput")
    expect(uploaders).to_have_count(2)
    uploaders.nth(0).set_input_files(folder / "sign_mnist_train.csv")
    uploaders.nth(1).set_input_files(folder / "sign_mnist_test.csv")
    # The uploader lists a file at once; the page says when the server has received it.
    expect(page.get_by_text("Received: sign_mnist_train.csv for training, ")).to_contain_text(
        "sign_mnist_test.csv for testing"
    )
    page.get_by_role("button", name="Load the uploaded files").click()
    expect(
        page.get_by_role("heading", name="Upload: sign_mnist_train.csv + sign_mnist_test.csv")
    ).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="Image shape")).to_contain_text(
        "28x28x1"
    )
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(1)
    expect(page.get_by_test_id("stPlotlyChart")).to_be_visible()
    save_screenshot(page, screenshot_dir / "data_uploaded.png")
    # The chosen dataset follows the user to the Augmentation page (same session).
    page.get_by_test_id("stSidebar").get_by_test_id("stPageLink").filter(
        has_text="Augmentation"
    ).click()
    page.wait_for_url("**/Augmentation")
    wait_for_page(page, "Augmentation")
    expect(page.get_by_test_id("stImage")).to_have_count(3)
    expect(page.get_by_text("Image (1-")).to_be_visible()
    save_screenshot(page, screenshot_dir / "augmentation_uploaded.png")


def test_paths_typed_and_loaded_at_once_are_the_dataset_used(open_app_page) -> None:
    page = open_app_page("/Data")
    page.get_by_text("A file inside data/").click()
    page.get_by_role("textbox", name="Training file").fill("flowers_train.csv")
    # Typed, then the button clicked straight away: no Enter, no wait for a rerun.
    page.get_by_role("textbox", name="Test file (optional)").fill("flowers_test.csv")
    page.get_by_role("button", name="Load these files").click()
    expect(page.get_by_role("heading", name="flowers_train.csv + flowers_test.csv")).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="Test images")).to_contain_text("125")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("flowers_train.csv + flowers_test.csv")
