"""Recipes on the dashboard (AppTest): the Train page's recipe choice sets the widgets and says
why; Start passes only what the user changed; the Augmentation page warns about flipping
small grayscale images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ui_fixtures import app_test, write_csv

from flowerdash.recipes import DataProfile, resolve_recipe
from flowerdash.train.options import job_arguments
from ui.state import DATASET_KEY, DatasetChoice
from ui.training import training_job

TIMEOUT = 120


def test_auto_recipe_sets_the_widgets_explains_and_shows_the_model_cost(data_dir: Path) -> None:
    page = app_test("pages/3_Train.py", TIMEOUT).run()
    assert not page.exception and not page.error
    assert page.selectbox(key="train.recipe").value == "auto"
    assert any(
        info.value.startswith("Chose the scratch recipe for 30 images of 8x8x3")
        for info in page.info
    )
    assert page.selectbox(key="train.model").value == "resnet18"
    assert any("resnet18 on these images:" in c.value and "MACs" in c.value for c in page.caption)
    page.selectbox(key="train.recipe").select("tutorial").run()
    assert page.selectbox(key="train.model").value == "minivggnet"
    assert page.number_input(key="train.epochs").value == 75


def test_start_passes_the_recipe_and_only_the_values_changed_from_it(tmp_path: Path) -> None:
    dataset = DatasetChoice(tmp_path / "t.csv", tmp_path / "v.csv", None, "mine")
    recipe = resolve_recipe("auto", DataProfile((64, 64, 3), 375, 5))
    values = {**recipe.settings.to_dict(), "epochs": 3}
    job = training_job(dataset, values, {"rotation": 5.0}, recipe)
    assert (job.settings.epochs, job.augment.rotation) == (3, 5.0)
    assert job_arguments(job)[4:] == ["--recipe", "auto", "--epochs", "3", "--rotation", "5.0"]


def test_augmentation_page_warns_when_flipping_small_grayscale_images(data_dir: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, (6, 10, 10, 1), dtype=np.uint8)
    train = write_csv(data_dir / "glyphs.csv", ["a", "b"] * 3, images)
    page = app_test("pages/2_Augmentation.py", TIMEOUT)
    page.session_state[DATASET_KEY] = DatasetChoice(train, None, None, "glyphs")
    page.run()
    assert any("Horizontal flip is on for small grayscale" in w.value for w in page.warning)
    page.toggle(key="augment.horizontal_flip").set_value(False).run()
    assert not any("Horizontal flip" in w.value for w in page.warning)
