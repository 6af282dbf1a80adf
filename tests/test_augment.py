"""Augmentation settings, the Keras layers they build, and the preview."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from flowerdash.augment import (
    AUGMENT_PARAMS,
    AugmentSettings,
    augment_batch,
    build_augmentation,
    preview_augmentations,
)
from flowerdash.errors import ConfigError

NONE = AugmentSettings(
    rotation=0, zoom=0, width_shift=0, height_shift=0, shear=0, horizontal_flip=False
)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    # Smooth gradients plus a bright square: any geometric change moves pixels visibly.
    rng = np.random.default_rng(0)
    base = np.zeros((3, 16, 16, 3), dtype=np.uint8)
    base[:, 2:8, 3:9] = 255
    return (base // 2 + rng.integers(0, 60, base.shape)).astype(np.uint8)


def test_defaults_are_the_tutorials():
    settings = AugmentSettings()
    assert (settings.rotation, settings.zoom, settings.width_shift, settings.height_shift) == (
        20.0,
        0.15,
        0.2,
        0.2,
    )
    assert (settings.shear, settings.horizontal_flip, settings.fill_mode) == (0.15, True, "nearest")


def test_every_declared_parameter_has_a_matching_field_and_default():
    settings = AugmentSettings()
    for spec in AUGMENT_PARAMS:
        assert getattr(settings, spec.name) == spec.default
        assert spec.help and spec.label


def test_settings_round_trip_through_a_dict():
    settings = AugmentSettings(rotation=5, fill_mode="reflect")
    assert AugmentSettings.from_dict(settings.to_dict()) == settings


def test_unknown_setting_is_a_config_error():
    with pytest.raises(ConfigError, match="rotate"):
        AugmentSettings.from_dict({"rotate": 3})


def test_out_of_range_value_is_a_config_error():
    with pytest.raises(ConfigError, match="zoom"):
        AugmentSettings(zoom=2.0)


def test_unknown_fill_mode_is_a_config_error():
    with pytest.raises(ConfigError, match="fill_mode"):
        AugmentSettings(fill_mode="mirror")


def test_block_is_one_random_affine_layer_carrying_the_settings():
    settings = AugmentSettings(rotation=36, zoom=0.1, shear=0.3, fill_mode="reflect")
    (layer,) = build_augmentation(settings, seed=1).layers
    assert type(layer).__name__ == "RandomAffine"
    assert (layer.rotation, layer.zoom, layer.shear) == (36.0, 0.1, 0.3)
    assert (layer.width_shift, layer.height_shift, layer.horizontal_flip) == (0.2, 0.2, True)
    assert layer.fill_mode == "reflect"


def test_shear_fraction_of_0_15_is_about_8_5_degrees():
    assert AugmentSettings(shear=0.15).shear_degrees == pytest.approx(8.53, abs=0.01)


def test_summary_names_each_parameter_that_changes_an_image():
    assert AugmentSettings().summary() == (
        "rotation ±20°, zoom ±15%, shift 20% × 20%, shear 0.15 (≈9°), horizontal flip, fill nearest"
    )
    assert (
        AugmentSettings(
            rotation=10, zoom=0, width_shift=0, height_shift=0, shear=0, horizontal_flip=False
        ).summary()
        == "rotation ±10°, fill nearest"
    )
    assert NONE.summary().startswith("none")


def test_zero_parameters_add_no_layer():
    assert build_augmentation(NONE, seed=1).layers == []


@pytest.mark.parametrize(
    "changed",
    [
        {"rotation": 45.0},
        {"zoom": 0.5},
        {"width_shift": 0.4},
        {"height_shift": 0.4},
        {"shear": 0.5},
        {"horizontal_flip": True},
    ],
    ids=lambda changed: next(iter(changed)),
)
def test_each_parameter_alone_changes_images_and_keeps_shape_and_type(images, changed):
    settings = AugmentSettings(**{**NONE.to_dict(), **changed})
    out = augment_batch(np.repeat(images, 4, axis=0), settings, seed=3)
    assert out.shape == (12, 16, 16, 3)
    assert out.dtype == np.uint8
    assert not np.array_equal(out, np.repeat(images, 4, axis=0))


def test_preview_of_one_image_returns_n_variants(images):
    out = preview_augmentations(images[0], AugmentSettings(), n=5, seed=0)
    assert out.shape == (5, 16, 16, 3)
    assert out.dtype == np.uint8


def test_preview_of_several_images_groups_variants_per_image(images):
    out = preview_augmentations(images, NONE, n=2, seed=0)
    assert out.shape == (3, 2, 16, 16, 3)
    assert np.array_equal(out[1, 1], images[1])


def test_preview_repeats_for_the_same_seed(images):
    first = preview_augmentations(images, AugmentSettings(), n=3, seed=7)
    second = preview_augmentations(images, AugmentSettings(), n=3, seed=7)
    assert np.array_equal(first, second)


def test_preview_differs_for_another_seed(images):
    first = preview_augmentations(images, AugmentSettings(), n=3, seed=7)
    second = preview_augmentations(images, AugmentSettings(), n=3, seed=8)
    assert not np.array_equal(first, second)


def test_augmentation_is_inactive_outside_training(images):
    block = build_augmentation(AugmentSettings(), seed=0)
    out = np.asarray(block(images.astype(np.float32), training=False))
    assert np.array_equal(out, images.astype(np.float32))


def test_importing_augment_does_not_import_keras():
    code = "import sys, flowerdash.augment, flowerdash.settings; print('keras' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"


def test_augmentation_block_survives_a_save_and_safe_mode_load(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((16, 16, 3)), build_augmentation(AugmentSettings(), 1)])
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    (layer,) = loaded.layers[0].layers
    assert type(layer).__name__ == "RandomAffine"
    assert layer.get_config()["rotation"] == 20.0
