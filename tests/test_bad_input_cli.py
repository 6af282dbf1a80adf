"""Issue #12, CLI side: wrong paths, damaged or unsafe model files and image bombs give exit 2
and one line on stderr (no traceback, no stray file, no half-made run folder)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest
from bad_input_corpus import (
    CODE_LAYER,
    DENSE_LAYER,
    TFSM_LAYER,
    fifo,
    keras_config,
    model_archive,
    png_bomb,
)
from data_helpers import REPO_ROOT
from PIL import Image
from train_fixtures import write_image_csv

from flowerdash.cli import main
from flowerdash.errors import DatasetError, RunError
from flowerdash.predict import check_model_file, read_image


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert "Traceback" not in err
    return err


@pytest.fixture
def run_dir(tmp_path):
    """A run folder with a config (what the path checks look for) and a model file to fill."""
    folder = tmp_path / "runs" / "r1"
    folder.mkdir(parents=True)
    config = {
        "settings": {},
        "augment": {},
        "data": {"train": {"path": "train.csv"}, "test": {"path": "test.csv"}},
        "shape": [4, 4, 1],
        "classes": ["a", "b"],
    }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "status.json").write_text(json.dumps({"state": "finished"}))
    return folder


@pytest.fixture
def csv_file(tmp_path):
    return write_image_csv(tmp_path / "test.csv", ["a", "b"] * 3, shape=(4, 4, 1))


# -- run folders and output paths -------------------------------------------------------------


def test_evaluate_given_a_csv_instead_of_a_run_folder(csv_file, capsys):
    assert main(["evaluate", str(csv_file), "--test", str(csv_file)]) == 2
    err = _one_error_line(capsys)
    assert "is a file (the test CSV goes after --test); expected a run directory" in err


def test_evaluate_given_a_folder_that_holds_no_run(tmp_path, csv_file, capsys):
    assert main(["evaluate", str(tmp_path), "--test", str(csv_file)]) == 2
    assert "a folder without config.json or status.json" in _one_error_line(capsys)


def test_train_resume_given_a_csv(csv_file, capsys):
    assert main(["train", "--resume", str(csv_file)]) == 2
    assert "is a file (the test CSV goes after --test)" in _one_error_line(capsys)


def test_train_resume_given_a_missing_folder(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path / "nope")]) == 2
    assert "not found; expected a run directory" in _one_error_line(capsys)


def test_runs_dir_pointing_at_a_file_is_refused_before_any_work(tmp_path, csv_file, capsys):
    blocker = tmp_path / "runs.txt"
    blocker.write_text("not a folder")
    for runs_dir in (blocker, blocker / "below"):
        code = main(
            ["train", "--train", str(csv_file), "--test", str(csv_file),
             "--runs-dir", str(runs_dir), "--run-id", "x"]
        )  # fmt: skip
        assert code == 2
        assert f"{blocker} is a file; expected a folder" in _one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.txt", "test.csv"]


@pytest.mark.parametrize("where", ["missing folder", "a folder"])
def test_evaluate_json_into_a_missing_folder_or_onto_a_folder(where, run_dir, csv_file, capsys):
    target = run_dir / "nowhere" / "report.json" if where == "missing folder" else run_dir
    before = sorted(p.name for p in run_dir.iterdir())
    assert main(["evaluate", str(run_dir), "--test", str(csv_file), "--json", str(target)]) == 2
    err = _one_error_line(capsys)
    missing = where == "missing folder"
    assert ("does not exist; create it first" if missing else "is a folder") in err
    assert sorted(p.name for p in run_dir.iterdir()) == before  # no .report.json.<pid>.tmp


@pytest.mark.parametrize("command", ["train", "evaluate", "predict"])
def test_a_fifo_given_as_the_csv_is_refused_at_once_leaving_no_run(
    command, tmp_path, run_dir, csv_file, capsys
):
    pipe = str(fifo(tmp_path / "pipe.csv"))
    runs_dir = tmp_path / "fresh-runs"
    argv = {
        "train": ["train", "--train", pipe, "--test", str(csv_file), "--runs-dir", str(runs_dir)],
        "evaluate": ["evaluate", str(run_dir), "--test", pipe],
        "predict": ["predict", str(run_dir), pipe],
    }[command]
    assert main(argv) == 2
    assert "is a named pipe (FIFO), not a regular file" in _one_error_line(capsys)
    assert not runs_dir.exists()


# -- model files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty (0 bytes): damaged"),
        (b"\x00garbage" * 100, "is not a .keras (zip) archive: damaged"),
    ],
)
def test_predict_with_an_empty_or_garbage_model_says_it_is_damaged(
    content, expected, run_dir, csv_file, capsys
):
    (run_dir / "model.keras").write_bytes(content)
    assert main(["predict", str(run_dir), str(csv_file)]) == 2
    assert expected in _one_error_line(capsys)


def test_a_truncated_model_archive_is_damaged(tmp_path):
    whole = model_archive(tmp_path / "whole.keras", keras_config([DENSE_LAYER]))
    cut = tmp_path / "model.keras"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(RunError, match=r"not a \.keras \(zip\) archive: damaged"):
        check_model_file(cut)


def test_a_model_archive_without_its_config_is_damaged(tmp_path):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", "{}")
    with pytest.raises(RunError, match=r"holds no config\.json: damaged"):
        check_model_file(path)


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        (TFSM_LAYER, "layer 'borrowed' is a TFSMLayer (it loads a TensorFlow SavedModel"),
        (CODE_LAYER, "layer 'innocent' names code from module 'os' ('system'), not from Keras"),
    ],
)
def test_a_model_whose_config_holds_unsafe_layers_is_refused_naming_them(
    layer, expected, run_dir, csv_file, capsys
):
    model_archive(run_dir / "model.keras", keras_config([DENSE_LAYER, layer]))
    assert main(["predict", str(run_dir), str(csv_file)]) == 2
    err = _one_error_line(capsys)
    assert expected in err and "safe mode does not load such layers" in err


@pytest.mark.slow
def test_a_real_lambda_model_is_refused_naming_the_layer(run_dir, csv_file, capsys):
    import keras

    inputs = keras.Input((4, 4, 1))
    doubled = keras.layers.Lambda(lambda t: t * 2, name="double_it")(inputs)
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(doubled))
    keras.Model(inputs, outputs).save(run_dir / "model.keras")
    assert main(["predict", str(run_dir), str(csv_file)]) == 2
    err = _one_error_line(capsys)
    assert "layer 'double_it' is a Lambda layer (it runs Python code stored in the file)" in err


@pytest.mark.slow
def test_a_damaged_model_that_keras_opens_fails_in_one_line_without_tf_logging(run_dir, csv_file):
    """A well-formed archive with garbage weights: in a fresh process TensorFlow loads (its
    C++ start-up logging silenced), Keras fails, and stderr holds the one error line."""
    model_archive(run_dir / "model.keras", keras_config([DENSE_LAYER]))
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "GRPC"))}
    damaged = subprocess.run(
        [sys.executable, "-m", "flowerdash", "predict", str(run_dir), str(csv_file)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO_ROOT,
        env=environment,
    )
    assert damaged.returncode == 2
    assert damaged.stderr.count("\n") == 1, damaged.stderr  # no TensorFlow start-up lines
    assert damaged.stderr.startswith(f"error: {run_dir / 'model.keras'}: damaged")


# -- images ---------------------------------------------------------------------------------


def test_a_200_megapixel_png_is_refused_as_a_decompression_bomb(tmp_path):
    bomb = png_bomb(tmp_path / "huge.png")
    with pytest.raises(DatasetError, match="decompression bomb"):
        read_image(bomb, (64, 64, 3))


def test_a_100_megapixel_png_is_refused_too_with_its_size(tmp_path):
    bomb = png_bomb(tmp_path / "big.png", side=10_000)
    with pytest.raises(DatasetError, match=r"bomb: Image size \(100000000 pixels\) exceeds"):
        read_image(bomb, (64, 64, 3))


def test_a_truncated_or_fake_image_says_it_is_not_readable(tmp_path):
    real = tmp_path / "real.png"
    Image.new("RGB", (40, 40), "red").save(real)
    cut = tmp_path / "cut.png"
    cut.write_bytes(real.read_bytes()[:60])
    fake = tmp_path / "fake.jpg"
    fake.write_text("a,1,2,3\n")
    for path in (cut, fake):
        with pytest.raises(DatasetError, match=r"not a readable image .*expected a PNG, JPEG"):
            read_image(path, (8, 8, 3))


def test_an_image_path_that_is_a_fifo_is_refused_at_once(tmp_path):
    with pytest.raises(DatasetError, match="named pipe"):
        read_image(fifo(tmp_path / "photo.png"), (8, 8, 3))


def test_tensorflow_logging_is_silenced_unless_verbose_3_asks(monkeypatch):
    import argparse

    from flowerdash.cli import QUIET_TENSORFLOW, quiet_tensorflow

    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))  # the import hook goes too
    for name in QUIET_TENSORFLOW:
        monkeypatch.delenv(name, raising=False)
    quiet_tensorflow(argparse.Namespace(verbose=3))
    assert not any(name in os.environ for name in QUIET_TENSORFLOW)
    monkeypatch.setenv("GRPC_VERBOSITY", "DEBUG")  # a user's own setting is kept
    quiet_tensorflow(argparse.Namespace(verbose=None))
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    assert os.environ["GRPC_VERBOSITY"] == "DEBUG"


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_a_run_config_without_shape_is_named_as_damaged(run_dir, csv_file, command, capsys):
    config = json.loads((run_dir / "config.json").read_text())
    del config["shape"]
    (run_dir / "config.json").write_text(json.dumps(config))
    before = {path.name: path.read_bytes() for path in run_dir.iterdir()}
    argv = [command, str(run_dir), str(csv_file)]
    if command == "evaluate":
        argv = [command, str(run_dir), "--test", str(csv_file)]
    assert main(argv) == 2
    message = _one_error_line(capsys)
    assert "config.json" in message and "shape" in message
    assert {path.name: path.read_bytes() for path in run_dir.iterdir()} == before
