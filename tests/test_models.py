"""The model registry: every model builds for small and large inputs, and its analytic cost
(parameters) matches what Keras counts; too-small images and too-big models are refused before
anything is built."""

from __future__ import annotations

import pytest

from flowerdash.errors import ConfigError
from flowerdash.models import (
    MODELS,
    ModelOptions,
    build_model,
    check_model_fits,
    minimum_side,
    model_cost,
)

keras = pytest.importorskip("keras")

SMALL_RESNET = ModelOptions(width=0.25, stem_stride=2, preactivation=True)
CASES = [
    (name, shape, options)
    for name in MODELS
    for shape, options in (((28, 28, 1), ModelOptions()), ((64, 48, 3), SMALL_RESNET))
]


@pytest.mark.parametrize(("name", "shape", "options"), CASES)
def test_every_model_builds_and_its_analytic_parameter_count_is_keras(name, shape, options):
    model = build_model(name, shape, 7, options=options)
    assert model.input_shape == (None, *shape)
    assert model.output_shape == (None, 7)
    assert model.get_layer("rescale").scale == pytest.approx(1 / 255)
    assert model_cost(name, shape, 7, options).params == model.count_params()


def test_width_and_stem_stride_change_the_residual_nets_cost():
    full = model_cost("resnet18", (64, 64, 3), 5)
    small = model_cost("resnet18", (64, 64, 3), 5, SMALL_RESNET)
    assert 0.6e6 < small.params < 0.8e6  # the 0.7 M-parameter net
    assert small.params < full.params / 10 and small.macs < full.macs / 40
    assert "parameters" in small.summary() and "MACs per image" in small.summary()


def test_minivggnet_keeps_the_tutorials_layers():
    model = build_model("minivggnet", (64, 64, 3), 5)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [32, 32, 64, 64]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.units for d in dense] == [512, 5]
    assert model.count_params() == 8_460_069


def test_augmentation_block_sits_right_after_the_input():
    block = keras.Sequential([keras.layers.RandomFlip("horizontal")], name="augmentation")
    model = build_model("resnet20", (16, 16, 3), 2, augmentation=block)
    assert model.layers[1].name == "augmentation"


def test_images_too_small_for_the_poolings_are_refused_with_the_sizes():
    assert minimum_side("minivggnet") == 4
    with pytest.raises(ConfigError, match=r"1x1x3 are too small for minivggnet.*4x4"):
        model_cost("minivggnet", (1, 1, 3), 2)
    with pytest.raises(ConfigError, match="too small for resnet18"):
        build_model("resnet18", (8, 8, 1), 2, options=SMALL_RESNET)


def test_a_model_too_big_for_the_memory_is_refused_with_the_numbers():
    with pytest.raises(ConfigError) as error:
        check_model_fits("minivggnet", (707, 707, 1), 5, batch_size=32, memory=64 * 2**30)
    message = str(error.value)
    assert "1.02 G parameters" in message and "64.0 GiB" in message
    cost = check_model_fits("resnet20", (64, 64, 3), 5, batch_size=32, memory=64 * 2**30)
    assert cost.params == model_cost("resnet20", (64, 64, 3), 5).params


def test_unknown_model_and_one_class_are_config_errors():
    with pytest.raises(ConfigError, match="vgg99"):
        build_model("vgg99", (16, 16, 3), 2)
    with pytest.raises(ConfigError, match="at least 2"):
        check_model_fits("minivggnet", (16, 16, 3), 1, batch_size=8)


def test_model_specific_settings_are_declared_training_settings():
    from flowerdash.models import PRETRAINED_SETTINGS, RESNET_SETTINGS, setting_applies
    from flowerdash.settings import TRAIN_PARAMS

    declared = {spec.name for spec in TRAIN_PARAMS}
    assert declared >= RESNET_SETTINGS | PRETRAINED_SETTINGS
    assert setting_applies("width", "resnet18") and not setting_applies("width", "minivggnet")
    assert setting_applies("input_size", "efficientnet_lite0")
    assert not setting_applies("input_size", "resnet20")
    assert all(setting_applies("epochs", name) for name in MODELS)
