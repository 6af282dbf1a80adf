"""Real browser: a confusion cell's saliency maps and an export's download on the Results page.

A finished run with a (small, untrained) model is written into the live server's runs folder
and exported to ONNX once through the CLI; the browser switches the cell's gallery to maps and
downloads the ONNX file shown with its agreement. The run is removed afterwards.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import choose_option, save_screenshot

pytestmark = [pytest.mark.slow, pytest.mark.browser]

RUN_ID = "20260101-120000-maps"


@pytest.fixture(scope="module")
def exported_run(app_runs_dir: Path):
    from run_fixtures import write_finished_run
    from test_export import save_run_model

    from flowerdash.cli import main

    run_dir = write_finished_run(app_runs_dir, RUN_ID)
    save_run_model(run_dir)
    assert main(["export", str(run_dir), "--format", "onnx"]) == 0
    yield run_dir
    shutil.rmtree(run_dir, ignore_errors=True)
    (app_runs_dir / f"{RUN_ID}-test.csv").unlink(missing_ok=True)


def open_results_of(page: Page, run_id: str) -> None:
    choose_option(page, "Run", run_id)
    expect(page.get_by_role("radio", name="Maps: predicted class")).to_be_visible()


def test_results_show_a_cells_maps_and_download_an_export(
    open_app_page, exported_run: Path, screenshot_dir
) -> None:
    page = open_app_page("/Results")
    open_results_of(page, RUN_ID)
    page.get_by_text("Maps: predicted class").click()
    gallery = page.get_by_test_id("stImage").filter(has_text="map: daisy")
    expect(gallery.first).to_be_visible(timeout=60_000)
    expect(gallery).to_have_count(2)
    # The overlaid maps are decoded by the browser (not only placed in the page).
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stImage] img')]"
        ".filter(i => i.complete && i.naturalWidth > 0).length >= 2"
    )

    expect(page.get_by_text("9/9 same class").first).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="ONNX (model.onnx)").click()
    saved = Path(download.value.path())
    assert saved.read_bytes() == (exported_run / "exports" / "model.onnx").read_bytes()
    save_screenshot(page, screenshot_dir / "results-maps-export.png")
