"""Saliency maps: the feature map is found by shape; the map points where the class is decided."""

from __future__ import annotations

import numpy as np
import pytest

from flowerdash.charts.saliency import heatmap_colors, overlay_saliency
from flowerdash.errors import ConfigError

SIZE = 32
PATCH = 8


def corner_images(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Dim noise; class 0 images also hold a bright square in the top-left corner, class 1 not."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 90, (count, SIZE, SIZE, 3)).astype(np.uint8)
    labels = np.arange(count) % 2
    images[labels == 0, :PATCH, :PATCH] = 255
    return images, labels


@pytest.fixture(scope="module")
def corner_model():
    """MiniVGGNet trained briefly on the corner task (the class is the bright corner)."""
    import keras

    from flowerdash.models import build_model

    keras.utils.set_random_seed(0)
    images, labels = corner_images(128)
    model = build_model("minivggnet", (SIZE, SIZE, 3), 2)
    for layer in model.layers:  # a brief training: let BatchNorm's statistics settle quickly
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.5
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    model.fit(images, labels, epochs=4, batch_size=16, verbose=0)
    return model


def corner_share(saliency: np.ndarray) -> float:
    """The share of the map's mass in the top-left quarter of the image (the patch's corner)."""
    half = SIZE // 2
    return float(saliency[:half, :half].sum() / max(saliency.sum(), 1e-9))


@pytest.mark.slow
def test_saliency_mass_lies_in_the_deciding_corner(corner_model):
    from flowerdash.saliency import saliency_maps

    images, labels = corner_images(16, seed=1)
    probabilities = corner_model.predict(images, verbose=0)
    assert (probabilities.argmax(axis=1) == labels).all()
    maps = saliency_maps(corner_model, images, labels)
    assert maps.shape == (16, SIZE, SIZE)
    assert maps.min() >= 0.0 and maps.max() <= 1.0
    shares = [corner_share(m) for m in maps[labels == 0]]
    # A quarter of the image holds the patch: chance would put 25 % of the mass there.
    assert min(shares) > 0.5, shares


@pytest.mark.slow
def test_saliency_of_the_other_class_avoids_the_patch(corner_model):
    from flowerdash.saliency import saliency_maps

    images, labels = corner_images(8, seed=2)
    patched = images[labels == 0]
    patch_maps = saliency_maps(corner_model, patched, np.zeros(len(patched), dtype=int))
    plain_maps = saliency_maps(corner_model, patched, np.ones(len(patched), dtype=int))
    for patch_map, plain_map in zip(patch_maps, plain_maps, strict=True):
        assert corner_share(plain_map) < corner_share(patch_map)


def _registered_models() -> list:
    from flowerdash.models import MODELS

    # Known bug: efficientnet_lite0's backbone is one nested model that ends in its own pooling,
    # so the top level has no feature map to explain (the lookup does not descend into it yet).
    nested = pytest.mark.xfail(strict=True, reason="feature map inside a nested backbone")
    return [
        pytest.param(name, marks=nested) if name == "efficientnet_lite0" else name
        for name in MODELS
    ]


@pytest.mark.parametrize("name", _registered_models())
def test_feature_map_layer_is_the_last_spatial_block_of_every_registered_model(name):
    from flowerdash.models import build_model
    from flowerdash.saliency import feature_map_layer

    model = build_model(name, (64, 64, 3), 3)
    layer = feature_map_layer(model)
    height, width = layer.output.shape[1:3]
    assert len(layer.output.shape) == 4 and height * width > 1, name
    after = model.layers[model.layers.index(layer) + 1 :]
    assert all(
        len(later.output.shape) != 4 or later.output.shape[1] * later.output.shape[2] == 1
        for later in after[:-1]
    ), name


def test_feature_map_layer_refuses_a_model_without_convolutions():
    import keras

    from flowerdash.saliency import feature_map_layer

    inputs = keras.Input((8, 8, 3))
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(inputs))
    with pytest.raises(ConfigError, match="no convolutional feature map"):
        feature_map_layer(keras.Model(inputs, outputs))


def test_overlay_keeps_the_image_where_the_map_is_cold_and_colours_it_where_hot():
    image = np.full((4, 4, 1), 100, dtype=np.uint8)
    saliency = np.zeros((4, 4), dtype=np.float32)
    saliency[0, 0] = 1.0
    blended = overlay_saliency(image, saliency, upscale=2)
    assert blended.shape == (8, 8, 3) and blended.dtype == np.uint8
    hot = heatmap_colors(np.ones((1, 1)))[0, 0].astype(int)
    cold_shift = np.abs(blended[7, 7].astype(int) - 100).max()
    hot_shift = np.abs(blended[0, 0].astype(int) - 100)
    assert (np.sign(blended[0, 0].astype(int) - 100) == np.sign(hot - 100)).all()
    assert hot_shift.max() > cold_shift
    with pytest.raises(ValueError, match="does not match"):
        overlay_saliency(image, np.zeros((3, 3)))


@pytest.mark.slow
def test_gradcam_method_and_unknown_method(corner_model):
    from flowerdash.saliency import saliency_maps

    images, labels = corner_images(2, seed=3)
    maps = saliency_maps(corner_model, images, labels, method="gradcam")
    assert maps.shape == (2, SIZE, SIZE) and 0.0 <= maps.min() <= maps.max() <= 1.0
    with pytest.raises(ConfigError, match="unknown saliency method 'lime'"):
        saliency_maps(corner_model, images, labels, method="lime")


def test_feature_map_layer_of_an_efficientnet_lite0_backbone_is_its_last_block():
    import keras

    from flowerdash.pretrained.efficientnet_lite import backbone_features
    from flowerdash.saliency import feature_map_layer

    inputs = keras.Input((64, 64, 3))
    pooled = backbone_features(inputs)  # ends with its own global average pooling
    model = keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(pooled))
    layer = feature_map_layer(model)
    assert layer.name == "_act1" and tuple(layer.output.shape[1:]) == (2, 2, 1280)
