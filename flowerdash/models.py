"""Model registry: networks built by name for a dataset's input shape and class count.

Every model takes raw 0-255 pixels (``Rescaling(1/255)`` is its first layer after the optional
augmentation block), so a saved ``model.keras`` predicts on images exactly as stored in the CSV.
Keras is imported inside the builders only: importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flowerdash.errors import ConfigError

if TYPE_CHECKING:
    import keras

MODEL_DESCRIPTIONS: dict[str, str] = {
    "minivggnet": "the tutorial's MiniVGGNet: two CONV 3x3/32 and two CONV 3x3/64 blocks with "
    "BatchNorm, max-pooling and dropout 0.25, then dense 512 with dropout 0.5 and softmax.",
}

AUGMENTATION_LAYER = "augmentation"


def _minivggnet(x: keras.KerasTensor, num_classes: int) -> keras.KerasTensor:
    from keras import layers

    for filters in (32, 64):
        for _ in range(2):
            x = layers.Conv2D(filters, 3, padding="same")(x)
            x = layers.Activation("relu")(x)
            x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D(pool_size=2)(x)
        x = layers.Dropout(0.25)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(512)(x)
    x = layers.Activation("relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dropout(0.5)(x)
    return layers.Dense(num_classes, activation="softmax", name="probabilities")(x)


_BUILDERS: dict[str, Callable[[keras.KerasTensor, int], keras.KerasTensor]] = {
    "minivggnet": _minivggnet,
}


def build_model(
    name: str,
    input_shape: tuple[int, int, int],
    num_classes: int,
    *,
    augmentation: keras.Layer | None = None,
) -> keras.Model:
    """Return the uncompiled model ``name`` for images of ``input_shape`` (H, W, C).

    ``augmentation`` (see ``flowerdash.augment.build_augmentation``) is placed right after the
    input, named ``"augmentation"``: Keras runs it only in training, so every training mode
    augments the same way and the saved model still predicts on raw pixels.
    Raises ConfigError for an unknown name or fewer than two classes.
    """
    import keras
    from keras import layers

    if name not in _BUILDERS:
        raise ConfigError(f"unknown model {name!r}; expected one of: {', '.join(_BUILDERS)}")
    if num_classes < 2:
        raise ConfigError(f"a classifier needs at least 2 classes, got {num_classes}")
    inputs = keras.Input(shape=tuple(input_shape), name="pixels")
    x = inputs
    if augmentation is not None:
        x = augmentation(x)
    x = layers.Rescaling(1.0 / 255, name="rescale")(x)
    outputs = _BUILDERS[name](x, num_classes)
    return keras.Model(inputs, outputs, name=name)
