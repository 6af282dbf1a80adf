"""``train --recipe``: the recipe and its resolved values in config.json, explicit flags win,
flip TTA reported; images too small or models too big refused before Keras, no run left."""

from __future__ import annotations

import json

import pytest
from train_fixtures import write_image_csv

from flowerdash import models, runs
from flowerdash.cli import main


def _run_folders(runs_dir):
    return sorted(runs_dir.iterdir()) if runs_dir.exists() else []


def test_one_pixel_images_are_refused_before_keras_with_no_run_left(tmp_path, capsys):
    data = write_image_csv(tmp_path / "tiny.csv", ["a", "b"] * 4, shape=(1, 1, 1))
    for recipe in ("tutorial", "auto"):
        code = main(
            ["train", "--train", str(data), "--test", str(data), "--recipe", recipe,
             "--runs-dir", str(tmp_path / "runs")]
        )  # fmt: skip
        err = capsys.readouterr().err
        assert code == 2, recipe
        assert "1x1x1 are too small for" in err and "Traceback" not in err
        assert err.count("\n") == 1
    assert _run_folders(tmp_path / "runs") == []


def test_a_model_too_big_for_memory_is_refused_with_its_numbers(tmp_path, capsys, monkeypatch):
    data = write_image_csv(tmp_path / "big.csv", ["a", "b"], shape=(707, 707, 1))
    monkeypatch.setattr(models, "machine_memory", lambda: 32 * 2**30)
    code = main(
        ["train", "--train", str(data), "--test", str(data), "--model", "minivggnet",
         "--runs-dir", str(tmp_path / "runs")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "minivggnet on 707x707x1 images is too big" in err and "1.02 G parameters" in err
    assert "32.0 GiB" in err
    assert _run_folders(tmp_path / "runs") == []


def test_train_help_lists_the_recipes_and_presets(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "--recipe {auto,tutorial,scratch" in out and "--augment-preset" in out


@pytest.mark.slow
def test_recipe_values_are_recorded_and_explicit_flags_win(tmp_path, capsys):
    train = write_image_csv(tmp_path / "train.csv", ["cat", "dog"] * 6, seed=1)
    test = write_image_csv(tmp_path / "test.csv", ["cat", "dog"] * 2, seed=2)
    code = main(
        ["train", "--train", str(train), "--test", str(test), "--recipe", "auto", "--epochs", "1",
         "--width", "0.125", "--mode", "memory", "--runs-dir", str(tmp_path / "runs"),
         "--run-id", "auto", "--verbose", "0"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("Chose the scratch recipe for 12 images of 12x12x3 in 2 classes")
    assert "flip test-time augmentation: accuracy" in out
    run = tmp_path / "runs" / "auto"
    config = runs.read_config(run)
    assert config.recipe["requested"] == "auto" and config.recipe["name"] == "scratch"
    assert set(config.recipe["overridden"]) == {"epochs", "width", "mode"}
    settings = config.settings
    assert settings.model == "resnet18" and settings.optimizer == "adamw"
    assert settings.epochs == 1 and settings.width == 0.125
    report = json.loads((run / runs.REPORT).read_text())
    assert 0.0 <= report["flip_tta"]["accuracy"] <= 1.0 and "macro_f1" in report["flip_tta"]
