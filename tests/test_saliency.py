"""Saliency maps: the feature map is found by shape; the map points where the class is decided."""

from __future__ import annotations

from pathlib import Path

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


def _registered_models() -> list[str]:
    from flowerdash.models import MODELS

    return list(MODELS)


@pytest.mark.parametrize("name", _registered_models())
def test_feature_map_layer_is_the_last_spatial_block_of_every_registered_model(name):
    from flowerdash.models import build_model
    from flowerdash.saliency import feature_map_layer, feature_map_path

    model = build_model(name, (64, 64, 3), 3)
    layer = feature_map_layer(model)
    height, width = layer.output.shape[1:3]
    assert len(layer.output.shape) == 4 and height * width > 1, name
    # At each level (the model, then each nested model on the way), no later layer but the
    # head holds a spatial feature map.
    path = feature_map_path(model)
    assert path[-1] is layer
    for parent, step in zip((model, *path[:-1]), path, strict=True):
        after = parent.layers[parent.layers.index(step) + 1 :]
        assert all(
            len(later.output.shape) != 4 or later.output.shape[1] * later.output.shape[2] == 1
            for later in (after[:-1] if parent is model else after)
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


DAISIES = Path(__file__).resolve().parent.parent / "data/flower_photos_64/images/daisy"


def test_efficientnet_lite0_maps_are_the_class_activation_maps_of_its_nested_backbone():
    """The transfer model's backbone is one nested model that pools its last block: the map
    comes from inside it. Under global average pooling and a dense head both methods reduce to
    Zhou et al.'s CAM, relu(features . class weights), computed here by hand; the backbone is
    frozen as in the head phase (no trainable weights)."""
    import keras
    from PIL import Image

    from flowerdash.models import ModelOptions, build_model
    from flowerdash.pretrained.transfer import BACKBONE, set_trainable_blocks
    from flowerdash.saliency import feature_map_path, saliency_maps

    keras.utils.set_random_seed(0)
    model = build_model("efficientnet_lite0", (64, 64, 3), 3, options=ModelOptions(input_size=96))
    set_trainable_blocks(model, 0)
    backbone = model.get_layer(BACKBONE)
    assert [layer.name for layer in feature_map_path(model)] == [BACKBONE, "_act1"]
    head_norm = backbone.get_layer("_bn1")
    assert feature_map_path(model, head_norm) == (backbone, head_norm)
    with pytest.raises(ConfigError, match="layer 'elsewhere' is not part of model"):
        feature_map_path(model, keras.layers.ReLU(name="elsewhere"))

    files = sorted(DAISIES.glob("*.png"))[:3]
    images = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])
    scaled = images.astype("float32")
    for layer in model.layers[1 : model.layers.index(backbone)]:
        scaled = layer(scaled)
    last_block = keras.Model(backbone.inputs, backbone.get_layer("_act1").output)
    features = keras.ops.convert_to_numpy(last_block(scaled))  # (3, 3, 3, 1280) at 96 px
    kernel = model.get_layer("probabilities").kernel.numpy()
    classes = np.array([0, 1, 2])
    cam = np.maximum(np.einsum("nhwk,kn->nhw", features, kernel[:, classes]), 0.0)
    cam = keras.ops.convert_to_numpy(keras.ops.image.resize(cam[..., None], (64, 64)))[..., 0]
    expected = cam / cam.reshape(3, -1).max(axis=1)[:, None, None]

    for method in ("hirescam", "gradcam"):
        maps = saliency_maps(model, images, classes, method=method)
        assert maps.shape == (3, 64, 64)
        np.testing.assert_allclose(maps, expected, atol=1e-4, err_msg=method)
    assert (expected.reshape(3, -1).std(axis=1) > 0.05).all()  # maps with a shape, not flat


def test_a_nested_model_that_ends_in_a_feature_map_is_the_feature_map_itself():
    import keras

    from flowerdash.saliency import feature_map_path, saliency_maps

    keras.utils.set_random_seed(0)
    pixels = keras.Input((8, 8, 3))
    convolutions = keras.Model(pixels, keras.layers.Conv2D(4, 3, strides=2)(pixels), name="cnn")
    inputs = keras.Input((8, 8, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(convolutions(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(pooled))
    assert feature_map_path(model) == (convolutions,)

    images = np.random.default_rng(0).uniform(0, 1, (2, 8, 8, 3)).astype("float32")
    features = convolutions.predict(images, verbose=0)  # (2, 3, 3, 4)
    cam = np.maximum(features @ model.layers[-1].kernel.numpy()[:, 1], 0.0)
    assert (cam.reshape(2, -1).max(axis=1) > 0).all()
    resized = keras.ops.convert_to_numpy(keras.ops.image.resize(cam[..., None], (8, 8)))[..., 0]
    expected = resized / resized.reshape(2, -1).max(axis=1)[:, None, None]
    np.testing.assert_allclose(saliency_maps(model, images, [1, 1]), expected, atol=1e-5)
