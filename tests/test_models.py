"""The model registry."""

from __future__ import annotations

import pytest

from flowerdash.errors import ConfigError
from flowerdash.models import MODEL_DESCRIPTIONS, build_model

keras = pytest.importorskip("keras")


@pytest.mark.parametrize("shape", [(64, 64, 3), (28, 28, 1)])
def test_minivggnet_takes_the_dataset_shape_and_class_count(shape):
    model = build_model("minivggnet", shape, 17)
    assert model.input_shape == (None, *shape)
    assert model.output_shape == (None, 17)


def test_minivggnet_has_the_tutorials_layers():
    model = build_model("minivggnet", (64, 64, 3), 5)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Conv2D") == 4 and kinds.count("BatchNormalization") == 5
    assert kinds.count("MaxPooling2D") == 2 and kinds.count("Dropout") == 3
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [32, 32, 64, 64]
    assert [c.kernel_size for c in convs] == [(3, 3)] * 4
    dense = [layer for layer in model.layers if type(layer).__name__ == "Dense"]
    assert [d.units for d in dense] == [512, 5]
    assert [layer.rate for layer in model.layers if type(layer).__name__ == "Dropout"] == [
        0.25,
        0.25,
        0.5,
    ]


def test_model_rescales_raw_pixels_inside():
    model = build_model("minivggnet", (16, 16, 3), 2)
    rescale = model.get_layer("rescale")
    assert rescale.scale == pytest.approx(1 / 255)


def test_augmentation_block_sits_right_after_the_input():
    block = keras.Sequential([keras.layers.RandomFlip("horizontal")], name="augmentation")
    model = build_model("minivggnet", (16, 16, 3), 2, augmentation=block)
    assert model.layers[1].name == "augmentation"


def test_unknown_model_name_is_a_config_error():
    with pytest.raises(ConfigError, match="resnet"):
        build_model("resnet", (16, 16, 3), 2)


def test_one_class_is_a_config_error():
    with pytest.raises(ConfigError, match="at least 2"):
        build_model("minivggnet", (16, 16, 3), 1)


def test_every_registered_model_is_described():
    assert set(MODEL_DESCRIPTIONS) == {"minivggnet"}
