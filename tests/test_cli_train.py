"""The train, evaluate and predict commands."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from train_fixtures import write_image_csv

from flowerdash import runs
from flowerdash.cli import main

CLASSES = ["cat", "dog", "fox"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One finished 1-epoch run (trained once for the module) and its data files."""
    base = tmp_path_factory.mktemp("cli-train")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FLOWERDASH_CACHE_DIR", str(base / "cache"))
        train = write_image_csv(base / "train.csv", CLASSES * 8, seed=1)
        test = write_image_csv(base / "test.csv", CLASSES * 2, seed=2)
        code = main(
            ["train", "--train", str(train), "--test", str(test), "--epochs", "1",
             "--batch-size", "8", "--mode", "memory", "--recipe", "tutorial",
             "--runs-dir", str(base / "runs"), "--run-id", "done", "--verbose", "0"]
        )  # fmt: skip
        assert code == 0
        yield {"run": base / "runs" / "done", "train": train, "test": test, "base": base}


@pytest.mark.slow
def test_train_prints_the_run_directory_as_its_last_line(finished, capsys):
    # The module fixture trained already; train once more to capture this test's output.
    code = main(
        ["train", "--train", str(finished["train"]), "--test", str(finished["test"]),
         "--epochs", "1", "--no-augment", "--recipe", "tutorial", "--width", "0.5",
         "--mix-alpha", "0.4",
         "--runs-dir", str(finished["base"] / "runs"), "--run-id", "named", "--verbose", "0"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0
    assert out.strip().splitlines()[-1] == str(finished["base"] / "runs" / "named")
    assert "precision" in out and "weighted avg" in out
    config = runs.read_config(finished["base"] / "runs" / "named")
    assert config.settings.augment is False
    # A residual-net option given for MiniVGGNet is recorded, and the user is told it is unused.
    assert config.settings.width == 0.5
    assert "--width (another kind of model's setting)" in err
    # So is an option whose switch is off: the tutorial recipe does not mix batches.
    assert config.settings.mix == "none" and config.settings.mix_alpha == 0.4
    assert "--mix-alpha (only with --mix mixup or cutmix)" in err


@pytest.mark.slow
def test_evaluate_prints_the_report_for_another_test_file(finished, capsys, tmp_path):
    other = write_image_csv(tmp_path / "other.csv", ["dog", "fox"] * 5, seed=9, palette=CLASSES)
    saved = tmp_path / "report.json"
    code = main(["evaluate", str(finished["run"]), "--test", str(other), "--json", str(saved)])
    assert code == 0
    assert "weighted avg" in capsys.readouterr().out
    report = json.loads(saved.read_text())
    assert report["count"] == 10 and report["cat"]["support"] == 0


@pytest.mark.slow
def test_predict_prints_top_k_for_images_and_csv_rows(finished, capsys, tmp_path):
    picture = tmp_path / "red.png"
    Image.fromarray(np.full((30, 20, 3), (220, 10, 10), dtype=np.uint8)).save(picture)
    code = main(
        ["predict", str(finished["run"]), str(picture), str(finished["test"]), "--top-k", "2"]
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert len(lines) == 1 + 6
    assert lines[0].startswith(f"{picture}: ")
    assert lines[1].startswith(f"{finished['test']}:1 (label cat): ")
    assert all(line.count(" 0.") + line.count(" 1.0") == 2 for line in lines)


@pytest.mark.slow
def test_predict_json_gives_probabilities_summing_at_most_one(finished, capsys):
    assert main(["predict", str(finished["run"]), str(finished["test"]), "--json"]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(results) == 6
    assert all(0 < sum(p for _, p in r["top"]) <= 1.0001 for r in results)


@pytest.mark.slow
def test_resume_of_a_finished_run_is_refused(finished, capsys):
    assert main(["train", "--resume", str(finished["run"])]) == 2
    assert "cannot resume a run that is finished" in capsys.readouterr().err


def test_train_with_one_class_exits_2_with_one_line(tmp_path, capsys):
    data = write_image_csv(tmp_path / "one.csv", ["cat"] * 4)
    code = main(["train", "--train", str(data), "--test", str(data), "--runs-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "only one class" in err and "Traceback" not in err


def test_train_with_unknown_test_labels_exits_2_naming_them(tmp_path, capsys):
    train = write_image_csv(tmp_path / "train.csv", ["cat", "dog"] * 3)
    test = write_image_csv(tmp_path / "test.csv", ["cat", "yak"], palette=["cat", "dog", "yak"])
    code = main(["train", "--train", str(train), "--test", str(test), "--runs-dir", str(tmp_path)])
    assert code == 2
    assert "yak" in capsys.readouterr().err


def test_train_out_of_range_setting_exits_2(tmp_path, capsys):
    data = write_image_csv(tmp_path / "d.csv", ["cat", "dog"] * 2)
    code = main(["train", "--train", str(data), "--test", str(data), "--rotation", "400"])
    assert code == 2
    assert "rotation" in capsys.readouterr().err


def test_resume_with_other_settings_exits_2(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path), "--mode", "manual"]) == 2
    assert "--mode" in capsys.readouterr().err


def test_train_without_data_files_exits_2(capsys):
    assert main(["train"]) == 2
    assert "--train PATH and --test PATH" in capsys.readouterr().err


def test_train_help_has_one_option_per_declared_setting(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for flag in ("--rotation", "--zoom", "--width-shift", "--height-shift", "--shear",
                 "--no-horizontal-flip", "--fill-mode", "--no-augment", "--epochs",
                 "--batch-size", "--mode", "--model", "--optimizer", "--learning-rate",
                 "--seed", "--runs-dir", "--run-id", "--resume"):  # fmt: skip
        assert flag in out, flag


def test_building_the_cli_does_not_import_keras():
    code = "import sys; from flowerdash.cli import build_parser; build_parser(); "
    code += "print('keras' in sys.modules, 'tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False False"


@pytest.mark.slow
def test_a_fresh_process_loads_the_saved_model_in_safe_mode(finished):
    code = (
        "import sys; from flowerdash.predict import load_run_model; "
        f"model = load_run_model({str(finished['run'])!r}); print(model.output_shape[-1])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "3", result.stderr[-2000:]


def test_train_into_a_run_id_in_use_exits_2_and_leaves_that_run_alone(tmp_path, capsys):
    from run_fixtures import snapshot, write_finished_run

    kept = write_finished_run(tmp_path / "runs", "mine")
    before = snapshot(kept)
    train = write_image_csv(tmp_path / "train.csv", CLASSES * 4)
    code = main(
        ["train", "--train", str(train), "--test", str(train), "--runs-dir",
         str(tmp_path / "runs"), "--run-id", "mine"]
    )  # fmt: skip
    assert code == 2
    assert "a run with this id exists already; pick another --run-id" in capsys.readouterr().err
    assert snapshot(kept) == before


@pytest.mark.slow
def test_two_trainings_started_together_with_one_run_id_do_not_share_the_folder(tmp_path):
    train = write_image_csv(tmp_path / "train.csv", CLASSES * 4, seed=1)
    test = write_image_csv(tmp_path / "test.csv", CLASSES, seed=2)
    runs_dir = str(tmp_path / "runs")
    command = [sys.executable, "-m", "flowerdash", "train", "--train", str(train),
               "--test", str(test), "--epochs", "1", "--batch-size", "6", "--mode", "memory",
               "--recipe", "tutorial", "--runs-dir", runs_dir, "--run-id", "same",
               "--verbose", "0"]  # fmt: skip
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        results = [(p.wait(timeout=240), p.stderr.read()) for p in processes]
    finally:
        for process in processes:
            process.kill()
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert "exists already; pick another --run-id" in refused and "Traceback" not in refused
    run_dir = tmp_path / "runs" / "same"
    assert runs.read_status(run_dir).state == "finished"
    assert runs.read_history(run_dir).epochs == 1
    assert runs.read_config(run_dir).run_id == "same"
