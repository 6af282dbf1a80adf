"""The training engine in-process: modes, the run directory contract, the report, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from train_fixtures import write_image_csv

from flowerdash import run_records, runs
from flowerdash.augment import AugmentSettings
from flowerdash.errors import ConfigError, DatasetError
from flowerdash.files import write_json_atomic
from flowerdash.settings import TrainSettings
from flowerdash.train import TrainJob, prepare_data, train_new

CLASSES = ["cat", "dog", "fox"]
HISTORY_COLUMNS = ["epoch", "accuracy", "learning_rate", "loss", "val_accuracy", "val_loss"]


@pytest.fixture
def pair(tmp_path):
    train = write_image_csv(tmp_path / "train.csv", CLASSES * 8, seed=1)  # 24 rows
    test = write_image_csv(tmp_path / "test.csv", CLASSES * 4 + CLASSES[:1] * 4, seed=2)  # 16
    return train, test


def _job(pair, **settings) -> TrainJob:
    values = {"epochs": 1, "batch_size": 8, **settings}
    return TrainJob(pair[0], pair[1], TrainSettings.from_dict(values), AugmentSettings())


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["memory", "stream", "manual"])
def test_each_mode_writes_the_run_directory_contract(pair, tmp_path, mode):
    run = train_new(_job(pair, mode=mode, epochs=2), tmp_path / "runs", "r", verbose=0)
    for name in ("config.json", "status.json", "progress.jsonl", "history.csv", "model.keras"):
        assert (run / name).is_file(), name
    assert (run / "report.json").is_file() and (run / "plot.png").stat().st_size > 1000
    history = pd.read_csv(run / "history.csv")
    assert list(history.columns) == HISTORY_COLUMNS
    assert history["epoch"].tolist() == [0, 1]
    status = runs.read_status(run)
    assert (status.state, status.epoch, status.epochs) == ("finished", 2, 2)
    assert not (run / "backup").exists()


@pytest.mark.slow
def test_report_predicts_every_test_sample_once_when_count_is_a_multiple_of_batch(pair, tmp_path):
    run = train_new(_job(pair), tmp_path / "runs", "r", verbose=0)  # 16 test rows, batch 8
    report = runs.read_report(run)
    assert report.count == 16
    assert [p["index"] for p in report.predictions] == list(range(16))
    assert np.array(report.confusion_matrix).sum() == 16
    assert report.classes == CLASSES
    assert report.scores["weighted avg"]["support"] == 16
    assert [p["true"] for p in report.predictions][:3] == CLASSES


@pytest.mark.slow
def test_progress_records_batches_and_epochs_one_based(pair, tmp_path):
    run = train_new(_job(pair, epochs=2), tmp_path / "runs", "r", verbose=0)
    records, _ = runs.read_progress(run)
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(epochs[0])
    last_batch = [r for r in records if r["kind"] == "batch"][-1]
    assert (last_batch["batch"], last_batch["batches"]) == (3, 3)


@pytest.mark.slow
def test_config_records_settings_data_fingerprints_classes_and_versions(pair, tmp_path):
    run = train_new(_job(pair, seed=7), tmp_path / "runs", "r", verbose=0)
    config = runs.read_config(run)
    assert config.settings.seed == 7
    assert config.augment == AugmentSettings()
    assert config.classes == CLASSES and config.shape == (12, 12, 3)
    assert len(config.train.fingerprint or "") >= 16
    assert config.test.rows == 16
    assert {"keras", "tensorflow", "numpy", "python"} <= set(config.versions)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "mix"), [("memory", "mixup"), ("stream", "cutmix"), ("manual", "mixup")]
)
def test_each_mode_trains_with_mixing_and_keeps_the_history_columns(pair, tmp_path, mode, mix):
    job = _job(pair, mode=mode, mix=mix, mix_alpha=0.4, label_smoothing=0.1)
    run = train_new(job, tmp_path / "runs", "r", verbose=0)
    config = json.loads((run / "config.json").read_text())
    assert (config["settings"]["mix"], config["settings"]["mix_alpha"]) == (mix, 0.4)
    history = pd.read_csv(run / "history.csv")
    assert list(history.columns) == HISTORY_COLUMNS
    assert history[["accuracy", "val_accuracy"]].stack().between(0, 1).all()
    assert np.isfinite(history[["loss", "val_loss"]].to_numpy()).all()
    assert runs.read_status(run).state == "finished" and runs.read_report(run).count == 16


@pytest.mark.slow
def test_mixing_gives_the_same_history_in_memory_and_stream_modes(pair, tmp_path):
    memory = train_new(_job(pair, mode="memory", mix="cutmix"), tmp_path / "runs", "m", verbose=0)
    stream = train_new(_job(pair, mode="stream", mix="cutmix"), tmp_path / "runs", "s", verbose=0)
    assert pd.read_csv(memory / "history.csv").equals(pd.read_csv(stream / "history.csv"))


@pytest.mark.slow
def test_two_class_dataset_trains_with_integer_labels(tmp_path):
    train = write_image_csv(tmp_path / "train.csv", ["no", "yes"] * 8)
    test = write_image_csv(tmp_path / "test.csv", ["no", "yes"] * 3, seed=3)
    job = TrainJob(train, test, TrainSettings(epochs=1, batch_size=4), AugmentSettings())
    run = train_new(job, tmp_path / "runs", "r", verbose=0)
    report = runs.read_report(run)
    assert report.classes == ["no", "yes"]
    assert np.array(report.confusion_matrix).shape == (2, 2)


@pytest.mark.slow
def test_saved_model_loads_in_safe_mode_and_takes_raw_pixels(pair, tmp_path):
    import keras

    run = train_new(_job(pair), tmp_path / "runs", "r", verbose=0)
    model = keras.saving.load_model(run / "model.keras", safe_mode=True)
    pixels = np.full((2, 12, 12, 3), 200, dtype=np.uint8)
    probabilities = np.asarray(model.predict(pixels, verbose=0))
    assert probabilities.shape == (2, 3)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)


@pytest.mark.slow
def test_saved_model_predicts_what_the_report_says(pair, tmp_path):
    import keras

    run = train_new(_job(pair), tmp_path / "runs", "r", verbose=0)
    model = keras.saving.load_model(run / "model.keras", safe_mode=True)
    test = np.loadtxt(pair[1], delimiter=",", usecols=range(1, 433), dtype=np.uint8)
    predicted = np.asarray(model.predict(test.reshape(-1, 12, 12, 3), verbose=0)).argmax(axis=1)
    report = runs.read_report(run)
    assert [CLASSES[i] for i in predicted] == [p["predicted"] for p in report.predictions]


def test_one_class_only_is_a_config_error(tmp_path):
    train = write_image_csv(tmp_path / "train.csv", ["cat"] * 6)
    test = write_image_csv(tmp_path / "test.csv", ["cat"] * 2)
    with pytest.raises(ConfigError, match="only one class"):
        prepare_data(TrainJob(train, test))


def test_test_labels_unknown_to_training_are_a_dataset_error_naming_them(pair, tmp_path):
    test = write_image_csv(tmp_path / "odd.csv", ["cat", "emu"], palette=[*CLASSES, "emu"])
    with pytest.raises(DatasetError, match="emu"):
        prepare_data(TrainJob(pair[0], test))


def test_train_and_test_shapes_that_differ_are_a_config_error(pair, tmp_path):
    test = write_image_csv(tmp_path / "small.csv", CLASSES, shape=(8, 8, 3))
    with pytest.raises(
        ConfigError, match=r"images are 8x8x3, expected 12x12x3 like the training images"
    ):
        prepare_data(TrainJob(pair[0], test))


def test_bad_data_leaves_no_run_directory(tmp_path):
    train = write_image_csv(tmp_path / "train.csv", ["cat"] * 6)
    with pytest.raises(ConfigError):
        train_new(TrainJob(train, train), tmp_path / "runs", "r")
    assert not (tmp_path / "runs" / "r").exists()


def test_bad_data_marks_a_launcher_made_run_failed(tmp_path, monkeypatch):
    train = write_image_csv(tmp_path / "train.csv", ["cat"] * 6)
    folder = run_records.reserve_run_dir(tmp_path / "runs", "r")
    monkeypatch.setenv(run_records.RESERVED_ENV, run_records.run_token(folder))
    write_json_atomic(folder / "status.json", {"state": "queued", "pid": None})
    with pytest.raises(ConfigError):
        train_new(TrainJob(train, train), tmp_path / "runs", "r")
    status = json.loads((folder / "status.json").read_text())
    assert status["state"] == "failed" and "only one class" in status["error"]


@pytest.mark.slow
def test_same_seed_repeats_the_same_history(pair, tmp_path):
    first = train_new(_job(pair, epochs=2, seed=3), tmp_path / "runs", "one", verbose=0)
    second = train_new(_job(pair, epochs=2, seed=3), tmp_path / "runs", "two", verbose=0)
    columns = ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert (
        runs.read_history(first).frame()[columns].equals(runs.read_history(second).frame()[columns])
    )
