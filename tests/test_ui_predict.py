"""The Predict page: uploads resized to the model's input; a trained run's top-k per test row."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from run_fixtures import write_finished_run
from ui_fixtures import app_test, write_flowers

from flowerdash.errors import DatasetError
from flowerdash.predict import read_uploads


def _upload(name: str, size: tuple[int, int], mode: str = "RGB") -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new(mode, size, color=128 if mode == "L" else (200, 30, 30)).save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = name
    return buffer


def test_uploads_are_resized_to_the_models_input_shape():
    inputs = read_uploads([_upload("a.png", (40, 30)), _upload("b.png", (9, 9))], (8, 8, 3))
    assert inputs.images.shape == (2, 8, 8, 3)
    assert inputs.names == ["a.png", "b.png"]


def test_grey_uploads_become_colour_for_an_rgb_model():
    inputs = read_uploads([_upload("g.png", (8, 8), mode="L")], (8, 8, 3))
    assert inputs.images[0, 0, 0].tolist() == [128, 128, 128]


def test_an_upload_that_is_not_an_image_is_refused_by_name():
    bad = io.BytesIO(b"label,1,2,3\n")
    bad.name = "notes.png"
    with pytest.raises(DatasetError, match=r"notes\.png"):
        read_uploads([bad], (8, 8, 3))


@pytest.mark.slow
def test_predict_page_shows_top_k_bars_for_each_chosen_test_row(tmp_path, monkeypatch):
    data = tmp_path / "data"
    train, test = write_flowers(data)
    monkeypatch.setenv("FLOWERDASH_DATA_DIR", str(data))
    subprocess.run(
        [sys.executable, "-m", "flowerdash", "train", "--train", str(train), "--test", str(test),
         "--epochs", "1", "--batch-size", "8", "--mode", "memory",
         "--runs-dir", os.environ["FLOWERDASH_RUNS_DIR"]],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    app = app_test("pages/5_Predict.py", 120).run()
    app.radio(key="predict.source").set_value("Test rows").run()
    assert not app.exception and not app.error
    bars = [c for c in app.get("plotly_chart") if c.key.startswith("predict.top.")]
    assert len(bars) == 6
    assert len(app.get("image")) == 6
    assert np.isclose(app.slider(key="predict.k").value, 3)


def test_a_model_keras_cannot_load_is_reported_not_raised(monkeypatch):
    run_folder = Path(os.environ["FLOWERDASH_RUNS_DIR"])
    run_dir = write_finished_run(run_folder)
    (run_dir / "model.keras").write_bytes(b"not a zip archive")
    app = app_test("pages/5_Predict.py", 120).run()
    app.radio(key="predict.source").set_value("Test rows").run()
    assert not app.exception
    assert "is not a .keras (zip) archive: damaged" in app.error[0].value
