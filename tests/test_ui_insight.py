"""Saliency maps, most confident mistakes, exports and the learning-rate finder in the dashboard."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from run_fixtures import CLASSES, SHAPE, write_finished_run
from test_export import save_run_model
from ui_fixtures import app_test

RESULTS = "pages/4_Results.py"
PREDICT = "pages/5_Predict.py"
TRAIN = "pages/3_Train.py"
RUN_ID = "20260101-120000-abcd"


@pytest.fixture
def run_with_model() -> Path:
    run_dir = write_finished_run(Path(os.environ["FLOWERDASH_RUNS_DIR"]), RUN_ID)
    save_run_model(run_dir)
    return run_dir


def _captions(page) -> list[str]:
    return [image.proto.imgs[0].caption for image in page.get("image")]


@pytest.mark.slow
def test_a_confusion_cell_shows_maps_for_the_predicted_then_the_true_class(run_with_model):
    page = app_test(RESULTS, timeout=120).run()
    page.radio(key=f"results.maps.{RUN_ID}").set_value("Maps: predicted class").run()
    assert not page.exception and not page.error
    assert _captions(page) == ["#3 · daisy 95% · map: daisy", "#5 · daisy 55% · map: daisy"]
    page.radio(key=f"results.maps.{RUN_ID}").set_value("Maps: true class").run()
    assert _captions(page) == ["#3 · daisy 95% · map: rose", "#5 · daisy 55% · map: rose"]


@pytest.mark.slow
def test_most_confident_mistakes_rank_misclassified_images_by_loss(run_with_model):
    page = app_test(RESULTS, timeout=120).run()
    page.toggle(key=f"results.top_losses.on.{RUN_ID}").set_value(True).run()
    assert not page.exception and not page.error
    captions = [c for c in _captions(page) if "loss" in c]
    assert captions, _captions(page)
    losses = [float(c.rsplit("loss ", 1)[1]) for c in captions]
    assert losses == sorted(losses, reverse=True)
    for caption in captions:
        true, predicted = caption.split(" · ")[1].split(" ")[0::2][:2]
        assert true != predicted


def test_export_section_offers_each_recorded_export_with_its_agreement(run_with_model):
    exports = run_with_model / "exports"
    exports.mkdir()
    (exports / "model.onnx").write_bytes(b"onnx")
    record = {"format": "onnx", "file": "exports/model.onnx", "bytes": 4,
              "runtime": "onnxruntime", "runtime_version": "1.31.1", "same_class": 9,
              "count": 9, "max_prob_diff": 2e-7, "test_path": "t.csv",
              "test_fingerprint": "x", "seconds": 1.0, "made": 1.0}  # fmt: skip
    (exports / "agreement.json").write_text(json.dumps({"onnx": record}))
    (run_with_model / "MODEL_CARD.md").write_text("# Model card\n")
    page = app_test(RESULTS).run()
    labels = [button.label for button in page.get("download_button")]
    assert "ONNX (model.onnx)" in labels and "MODEL_CARD.md" in labels
    assert not any(label.startswith("TensorFlow Lite") for label in labels)
    assert any("9/9 same class, max prob diff 2e-07" in m.value for m in page.markdown)


@pytest.mark.slow
def test_predict_page_shows_the_map_of_each_prediction(run_with_model):
    page = app_test(PREDICT, timeout=120).run()
    page.radio(key="predict.source").set_value("Test rows").run()
    page.toggle(key="predict.maps").set_value(True).run()
    assert not page.exception and not page.error
    mapped = [c for c in _captions(page) if c.endswith("map of its prediction")]
    assert len(mapped) == 6


@pytest.mark.slow
def test_maps_of_a_pretrained_transfer_run_show_on_both_pages():
    """efficientnet_lite0's feature map lies inside its nested backbone: maps, not an error."""
    import keras

    from flowerdash.models import ModelOptions, build_model

    run_dir = write_finished_run(Path(os.environ["FLOWERDASH_RUNS_DIR"]), RUN_ID)
    keras.utils.set_random_seed(3)
    options = ModelOptions(input_size=64)  # the smallest size with a 2x2 last block
    build_model("efficientnet_lite0", SHAPE, len(CLASSES), options=options).save(
        run_dir / "model.keras"
    )
    page = app_test(RESULTS, timeout=120).run()
    page.radio(key=f"results.maps.{RUN_ID}").set_value("Maps: predicted class").run()
    assert not page.exception and not page.error
    assert _captions(page) == ["#3 · daisy 95% · map: daisy", "#5 · daisy 55% · map: daisy"]
    page = app_test(PREDICT, timeout=120).run()
    page.radio(key="predict.source").set_value("Test rows").run()
    page.toggle(key="predict.maps").set_value(True).run()
    assert not page.exception and not page.error
    assert len([c for c in _captions(page) if c.endswith("map of its prediction")]) == 6


def test_lr_finder_button_fills_the_learning_rate_box(data_dir, monkeypatch):
    import ui.lr_finder_panel as panel
    from flowerdash.lr_finder import RangeTest

    asked = {}

    def fake_finder(train_path, options, **bounds):
        asked.update(options, train_path=train_path, **bounds)
        return RangeTest([1e-4, 1e-3, 1e-2], [2.0, 1.5, 3.0], [2.0, 1.7, 2.2], 1e-3, "end", 1.0)

    monkeypatch.setattr(panel, "find_learning_rate_in_subprocess", fake_finder)
    page = app_test(TRAIN).run()
    page.number_input(key="train.batch_size").set_value(8)
    page.button(key="train.lr_find").click().run()
    assert not page.exception
    assert page.number_input(key="train.learning_rate").value == pytest.approx(1e-3)
    assert asked["batch_size"] == 8 and asked["rotation"] == 20.0
    assert Path(asked["train_path"]).name == "flowers_train.csv"
    assert any("Suggested learning rate 0.001" in c.value for c in page.caption)
