"""Transfer learning on the pretrained EfficientNet-Lite0: the classifier for a dataset and its
two training phases.

:func:`transfer_outputs` puts, after the model's 0-1 rescaling, a resize to the backbone's
input resolution, grayscale repeated to three channels, the weights' own input scaling, the
pretrained backbone (a nested model named ``backbone``, ImageNet weights loaded) and a new
classification head (dropout, dense softmax). Only built-in Keras layers, so ``model.keras``
loads with ``safe_mode=True`` and holds every weight (it never needs the ``.pth``).

Training runs in two phases (:func:`set_trainable_blocks`): first the head alone on the frozen
backbone, then the top blocks too, at a lower rate. BatchNorm layers stay frozen in both (in
inference mode, keeping ImageNet's statistics): with batches of 32 and a few hundred steps,
re-estimating them hurts more than it helps (Keras' transfer-learning guide does the same).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flowerdash.pretrained import efficientnet_lite

if TYPE_CHECKING:
    import keras

BACKBONE = "backbone"
#: Dropout before the new classifier, as EfficientNet-Lite0's own head.
HEAD_DROPOUT = 0.2
#: Input resolutions the benchmark compared (``benchmarks/transfer_resolution.py``).
RESOLUTIONS = (64, 128, 160, 224)
#: The default input size, chosen on accuracy against time on 2 CPU cores. The frozen backbone
#: (that benchmark: 1,000 dev photos, dev hold-out) gave 0.880 at 160, 0.888 at 224 and 0.884
#: at 288 (1.65x 224's multiply-accumulates); fine-tuned (the ``transfer`` recipe, 16 epochs on
#: 375 dev photos, 2 subsets x 2 seeds, dev hold-out) 0.865 at 160 and 0.875 at 224, in 1.7x
#: the time.
PRETRAINED_INPUT_SIZE = 224
#: Every block from this one on, and the 1x1 head, are fine-tuned in the second phase.
HEAD_LAYERS = ("_conv_head", "_bn1")


@dataclass(frozen=True)
class BackboneCost:
    """Analytic size of the backbone at one resolution: parameters (trainable and BatchNorm
    statistics, as Keras counts them), multiply-accumulates and activation values (outputs of
    its convolutions, BatchNorms and activations) per image, and the largest layer's weights."""

    params: int
    macs: int
    activations: int
    largest_layer: int


def backbone_cost(resolution: int) -> BackboneCost:
    """The :class:`BackboneCost` of EfficientNet-Lite0 without its classifier at
    ``resolution`` (TensorFlow "same" padding: each stride-2 layer halves a side, rounding
    up)."""
    params = macs = activations = largest = 0

    def layer(weights: int, side: int, channels: int, per_output: int) -> None:
        nonlocal params, macs, activations, largest
        params += weights + 4 * channels  # and its BatchNorm
        macs += side * side * channels * per_output
        activations += 3 * side * side * channels  # convolution, BatchNorm, activation
        largest = max(largest, weights)

    side = -(-resolution // 2)
    stem = efficientnet_lite.STEM_FILTERS
    layer(3 * 3 * 3 * stem, side, stem, 3 * 3 * 3)
    for _index, kernel, stride, expansion, inputs, outputs in efficientnet_lite.block_settings():
        hidden = inputs * expansion
        if expansion != 1:
            layer(inputs * hidden, side, hidden, inputs)
        side = -(-side // stride)
        layer(kernel * kernel * hidden, side, hidden, kernel * kernel)
        layer(hidden * outputs, side, outputs, hidden)
    head = efficientnet_lite.HEAD_FILTERS
    layer(320 * head, side, head, 320)
    return BackboneCost(params, macs, activations, largest)


def transfer_outputs(x: keras.KerasTensor, num_classes: int, resolution: int) -> keras.KerasTensor:
    """The classifier's probabilities for ``x``, images already rescaled to 0-1 (any size, one
    or three channels), through the pretrained backbone at ``resolution`` pixels a side."""
    import keras
    from keras import layers

    if tuple(x.shape[1:3]) != (resolution, resolution):
        x = layers.Resizing(resolution, resolution, interpolation="bilinear", name="resize")(x)
    if x.shape[-1] == 1:
        x = layers.Concatenate(name="gray_to_rgb")([x, x, x])
    # The model's 1/255 rescaling is already applied: (255 x - 127) / 128 in one layer.
    scale = efficientnet_lite.INPUT_SCALE
    x = layers.Rescaling(255.0 / scale, offset=-efficientnet_lite.INPUT_OFFSET / scale)(x)
    inputs = keras.Input((resolution, resolution, 3), name="scaled_pixels")
    backbone = keras.Model(inputs, efficientnet_lite.backbone_features(inputs), name=BACKBONE)
    efficientnet_lite.load_pretrained_weights(backbone)
    x = backbone(x)
    x = layers.Dropout(HEAD_DROPOUT, name="head_dropout")(x)
    return layers.Dense(num_classes, activation="softmax", name="probabilities")(x)


def is_transfer_model(model: keras.Model) -> bool:
    """Whether ``model`` holds the pretrained backbone."""
    return any(layer.name == BACKBONE for layer in model.layers)


def set_trainable_blocks(model: keras.Model, blocks: int) -> int:
    """Freeze the backbone of ``model`` except its top ``blocks`` blocks and 1x1 head
    (``blocks`` 0: all frozen, the head-only phase); BatchNorm stays frozen throughout.
    Return the number of trainable backbone weights. The model must be compiled afterwards."""
    from keras import layers

    backbone = model.get_layer(BACKBONE)
    first = efficientnet_lite.BLOCK_COUNT - blocks
    backbone.trainable = True  # then per layer (a frozen parent would freeze every child)
    for layer in backbone.layers:
        name = layer.name
        if name.startswith("_blocks."):
            tuned = int(name.split(".")[1]) >= first
        else:
            tuned = blocks > 0 and name in HEAD_LAYERS
        layer.trainable = tuned and not isinstance(layer, layers.BatchNormalization)
    return sum(math.prod(v.shape) for v in backbone.trainable_weights)


def model_card(input_size: int, num_classes: int) -> list[str]:
    """What to know about the pretrained model before training it, one Markdown line each:
    its origin, licence, size, cost per image and where the data goes."""
    cost = backbone_cost(input_size)
    head = efficientnet_lite.HEAD_FILTERS * num_classes + num_classes
    return [
        "**Pretrained on ImageNet** (1.28 M photos, 1,000 classes; 75.1 % top-1 in its "
        "release): EfficientNet-Lite0, ReLU6, no squeeze-excite.",
        "**Licence:** Apache-2.0. Weights from the TensorFlow TPU EfficientNet-Lite release "
        f"(Apache-2.0), installed with the `{efficientnet_lite.WEIGHTS_REQUIREMENT}` package "
        "(Apache-2.0).",
        f"**Parameters:** {cost.params / 1e6:.2f} M in the backbone (BatchNorm statistics "
        f"included) + {head:,} in the new classifier for {num_classes} classes.",
        f"**Cost per image:** {cost.macs / 1e6:.0f} M multiply-accumulates at "
        f"{input_size}x{input_size} (images are resized to it inside the model).",
        "**Your data never leaves this machine:** the weights are installed with flowerdash's "
        "requirements and read locally; nothing is downloaded or uploaded, in training or "
        "prediction.",
    ]
