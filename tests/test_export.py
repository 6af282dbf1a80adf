"""Exports of a run's model: written, reloaded by their own runtime, checked, described."""

from __future__ import annotations

import json

import numpy as np
import pytest
from run_fixtures import CLASSES, SHAPE, write_finished_run

from flowerdash.cli import main
from flowerdash.errors import ConfigError


def save_run_model(run_dir) -> None:
    """An untrained MiniVGGNet with the augmentation block, saved as the run's model.keras."""
    import keras

    from flowerdash.augment import AugmentSettings, build_augmentation
    from flowerdash.models import build_model

    keras.utils.set_random_seed(3)
    model = build_model(
        "minivggnet", SHAPE, len(CLASSES), augmentation=build_augmentation(AugmentSettings(), 1)
    )
    model.save(run_dir / "model.keras")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A finished run exported once in all three formats through the CLI (module-wide)."""
    from flowerdash.export import read_agreement

    run_dir = write_finished_run(tmp_path_factory.mktemp("export-runs"))
    save_run_model(run_dir)
    code = main(["export", str(run_dir)])
    assert code == 0
    return run_dir, read_agreement(run_dir)


@pytest.mark.slow
def test_every_format_is_written_and_agrees_with_model_keras(exported):
    run_dir, agreement = exported
    assert set(agreement) == {"saved_model", "onnx", "tflite"}
    assert (run_dir / "exports" / "saved_model" / "saved_model.pb").is_file()
    assert (run_dir / "exports" / "saved_model.zip").stat().st_size > 0
    assert (run_dir / "exports" / "model.onnx").stat().st_size > 0
    assert (run_dir / "exports" / "model.tflite").stat().st_size > 0
    for record in agreement.values():
        assert record["count"] == 9 and record["same_class"] == 9
        assert record["max_prob_diff"] < 1e-4
    saved = json.loads((run_dir / "exports" / "agreement.json").read_text())
    assert saved["onnx"]["runtime"] == "onnxruntime"


@pytest.mark.slow
def test_exports_run_without_the_augmentation(exported):
    """The augmentation block is random in training mode: an export must not contain it."""
    import onnxruntime

    from flowerdash.export import runtime_probabilities

    run_dir, _ = exported
    images = np.full((2, *SHAPE), 120, dtype=np.float32)
    first = runtime_probabilities("onnx", run_dir / "exports" / "model.onnx", images)
    again = runtime_probabilities("onnx", run_dir / "exports" / "model.onnx", images)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(first[0], first[1])
    session = onnxruntime.InferenceSession(str(run_dir / "exports" / "model.onnx"))
    assert list(session.get_inputs()[0].shape[1:]) == list(SHAPE)


@pytest.mark.slow
def test_model_card_gives_the_input_contract_classes_scores_and_agreement(exported):
    run_dir, _ = exported
    card = (run_dir / "MODEL_CARD.md").read_text()
    assert "(N, 4, 4, 3)" in card and "raw pixel values 0-255" in card
    assert "0. daisy" in card and "2. tulip" in card
    assert "accuracy 0.6667 on 9 test images" in card
    assert card.count("9/9 same class") == 3


@pytest.mark.slow
def test_export_in_a_child_process_of_one_format_keeps_the_others_records(exported):
    from flowerdash.export import export_in_subprocess, read_agreement

    run_dir, before = exported
    made = export_in_subprocess(run_dir, ["onnx"])  # ONNX first: its exporter needs a called model
    assert list(made) == ["onnx"] and made["onnx"]["same_class"] == 9
    after = read_agreement(run_dir)
    assert after["tflite"] == before["tflite"]
    assert after["onnx"]["made"] > before["onnx"]["made"]


def test_export_of_a_run_without_a_model_is_a_clear_error(tmp_path, capsys):
    run_dir = write_finished_run(tmp_path)
    assert main(["export", str(run_dir), "--format", "onnx"]) == 2
    assert "no saved model" in capsys.readouterr().err


def test_unknown_format_is_refused():
    from flowerdash.export import check_formats

    with pytest.raises(ConfigError, match="unknown export format 'pt'"):
        check_formats(["onnx", "pt"])
    assert check_formats(["tflite", "saved_model", "tflite"]) == ["saved_model", "tflite"]


def test_agreement_text():
    from flowerdash.export import compare_predictions, format_agreement

    reference = np.array([[0.9, 0.1], [0.4, 0.6], [0.5, 0.5]])
    other = reference + np.array([[0.0, 0.0], [0.2, -0.2], [1e-6, -1e-6]])
    record = compare_predictions(reference, other)
    assert record == {"same_class": 2, "count": 3, "max_prob_diff": pytest.approx(0.2)}
    assert format_agreement({**record, "max_prob_diff": 2e-6}) == (
        "2/3 same class, max prob diff 2e-06"
    )
