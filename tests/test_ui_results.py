"""The Results page on a fixture run directory: metrics, table, heatmap, a cell's images."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import plotly.io
import pytest
from run_fixtures import write_finished_run
from streamlit.testing.v1 import AppTest
from ui_fixtures import app_test

from ui.results import clicked_cell

PAGE = "pages/4_Results.py"


def typed_array(value) -> np.ndarray:
    """Decode plotly's JSON typed array (``{"dtype", "bdata", "shape"}``) or a plain list."""
    if isinstance(value, dict):
        shape = [int(n) for n in str(value["shape"]).split(",")]
        return np.frombuffer(base64.b64decode(value["bdata"]), value["dtype"]).reshape(shape)
    return np.asarray(value)


@pytest.fixture
def results_page() -> AppTest:
    write_finished_run(Path(os.environ["FLOWERDASH_RUNS_DIR"]))
    return app_test(PAGE).run()


def test_results_page_shows_the_test_accuracy(results_page):
    assert results_page.metric[0].value == "66.7%"


def test_results_page_shows_the_per_class_table(results_page):
    table = results_page.dataframe[0].value
    assert table["class"].tolist() == ["daisy", "rose", "tulip"]
    assert table["support"].tolist() == [3, 3, 3]


def test_results_page_draws_the_confusion_heatmap(results_page):
    chart = next(c for c in results_page.get("plotly_chart") if "confusion" in c.key)
    heatmap = plotly.io.from_json(chart.proto.spec).data[0]
    assert heatmap.type == "heatmap"
    assert typed_array(heatmap.z).tolist() == [[3, 0, 0], [2, 1, 0], [0, 1, 2]]


def test_most_confused_pair_is_chosen_first(results_page):
    assert results_page.selectbox(key="results.cell.20260101-120000-abcd").value == (
        "rose",
        "daisy",
    )


def _captions(page: AppTest) -> list[str]:
    return [image.proto.imgs[0].caption for image in page.get("image")]


def test_first_cell_shows_its_images_most_confident_first(results_page):
    assert _captions(results_page) == ["#3 · daisy 95%", "#5 · daisy 55%"]


def test_choosing_another_cell_shows_that_cells_images(results_page):
    results_page.selectbox(key="results.cell.20260101-120000-abcd").select(("tulip", "rose"))
    assert _captions(results_page.run()) == ["#8 · rose 65%"]


def test_clicked_heatmap_cell_reads_as_true_and_predicted_class():
    event = SimpleNamespace(selection=SimpleNamespace(points=[{"x": "rose", "y": "tulip"}]))
    assert clicked_cell(event) == ("tulip", "rose")


def test_empty_heatmap_selection_chooses_no_cell():
    assert clicked_cell(SimpleNamespace(selection=SimpleNamespace(points=[]))) is None


def test_downloads_offer_the_report_the_predictions_and_the_plot_when_present(results_page):
    labels = [b.proto.label for b in results_page.get("download_button")]
    assert labels == ["report.csv", "report.json", "predictions.csv"]


def test_a_report_without_confusion_matrix_is_reported_not_raised():
    run_dir = write_finished_run(Path(os.environ["FLOWERDASH_RUNS_DIR"]))
    report = json.loads((run_dir / "report.json").read_text())
    del report["confusion_matrix"]
    (run_dir / "report.json").write_text(json.dumps(report))
    app = app_test(PAGE).run()
    assert not app.exception
    assert "has no 'confusion_matrix'" in app.error[0].value


def test_normalize_toggle_shows_each_true_class_share(results_page):
    results_page.toggle(key="results.normalize").set_value(True).run()
    chart = next(c for c in results_page.get("plotly_chart") if "confusion" in c.key)
    shares = typed_array(plotly.io.from_json(chart.proto.spec).data[0].z)
    assert shares[1].tolist() == pytest.approx([2 / 3, 1 / 3, 0.0])
