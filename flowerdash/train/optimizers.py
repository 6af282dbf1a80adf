"""Optimizers, learning-rate schedules, the loss and BatchNorm momentum, from the settings.

The tutorial's ``SGD(lr=0.01, momentum=0.9, decay=0.01 / epochs)`` no longer exists in Keras 3.
Keras 2's ``decay`` updated the rate at every batch (every optimizer iteration):
``lr_t = lr / (1 + decay * iterations)``. ``InverseTimeDecay(lr, decay_steps=1,
decay_rate=decay)`` computes ``lr / (1 + decay_rate * step / decay_steps)``, the same formula,
so the ``tutorial_decay`` schedule reproduces it step for step. ``warmup_cosine`` is computed
from the run's total number of steps (epochs x batches per epoch), so a 2-epoch run and a
100-epoch run both get the whole warmup and the whole decay.

Weight decay is Keras 3's decoupled one (``variable -= lr * weight_decay * variable``), never
applied to BatchNorm's scale and offset or to biases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowerdash.errors import ConfigError

if TYPE_CHECKING:
    import keras

    from flowerdash.settings import TrainSettings

SGD_MOMENTUM = 0.9
#: The tutorial's decay numerator: decay = 0.01 / epochs.
SGD_DECAY_NUMERATOR = 0.01
#: Variables never weight-decayed (matched against variable names).
NO_DECAY = ("gamma", "beta", "bias")
#: Adaptive BatchNorm: the moving averages span about a tenth of the run, within these bounds.
BN_MOMENTUM_RANGE = (0.8, 0.99)


def sgd_decay(epochs: int) -> float:
    """The tutorial's per-iteration decay for a training of ``epochs`` epochs."""
    return SGD_DECAY_NUMERATOR / epochs


def sgd_schedule(
    learning_rate: float, epochs: int
) -> keras.optimizers.schedules.LearningRateSchedule:
    """The tutorial's decaying rate: ``learning_rate / (1 + 0.01/epochs * step)``, per batch."""
    import keras

    return keras.optimizers.schedules.InverseTimeDecay(
        learning_rate, decay_steps=1, decay_rate=sgd_decay(epochs)
    )


def warmup_cosine(
    learning_rate: float, total_steps: int, warmup: float
) -> keras.optimizers.schedules.LearningRateSchedule:
    """Linear rise from 0 to ``learning_rate`` over ``warmup`` of ``total_steps``, then a cosine
    decay reaching 0 at the last step."""
    import keras

    total_steps = max(1, total_steps)
    warmup_steps = min(total_steps - 1, round(warmup * total_steps))
    return keras.optimizers.schedules.CosineDecay(
        0.0 if warmup_steps else learning_rate,
        decay_steps=max(1, total_steps - warmup_steps),
        warmup_target=learning_rate if warmup_steps else None,
        warmup_steps=warmup_steps,
    )


def learning_rate_schedule(settings: TrainSettings, steps_per_epoch: int) -> Any:
    """The rate (a float or a schedule) ``settings.schedule`` gives for this run's length."""
    if settings.schedule == "tutorial_decay":
        return sgd_schedule(settings.learning_rate, settings.epochs)
    if settings.schedule == "constant":
        return settings.learning_rate
    if settings.schedule == "warmup_cosine":
        return warmup_cosine(
            settings.learning_rate, settings.epochs * steps_per_epoch, settings.warmup
        )
    raise ConfigError(f"unknown schedule {settings.schedule!r}")


def build_optimizer(settings: TrainSettings, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """Return the optimizer ``settings.optimizer`` with its schedule and weight decay.

    Raises ConfigError for an unknown optimizer or schedule.
    """
    import keras

    rate = learning_rate_schedule(settings, steps_per_epoch)
    decay = settings.weight_decay or None
    if settings.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(
            learning_rate=rate, momentum=SGD_MOMENTUM, weight_decay=decay
        )
    elif settings.optimizer == "nesterov":
        optimizer = keras.optimizers.SGD(
            learning_rate=rate, momentum=SGD_MOMENTUM, nesterov=True, weight_decay=decay
        )
    elif settings.optimizer == "adam":
        optimizer = keras.optimizers.Adam(learning_rate=rate, weight_decay=decay)
    elif settings.optimizer == "adamw":
        optimizer = keras.optimizers.AdamW(learning_rate=rate, weight_decay=settings.weight_decay)
    else:
        raise ConfigError(
            f"unknown optimizer {settings.optimizer!r}; expected sgd, adam, adamw or nesterov"
        )
    if settings.weight_decay:
        optimizer.exclude_from_weight_decay(var_names=list(NO_DECAY))
    return optimizer


def build_loss(label_smoothing: float, num_classes: int, *, soft_targets: bool = False) -> Any:
    """Sparse categorical cross-entropy; with ``label_smoothing`` the one-hot target keeps
    ``1 - label_smoothing`` and spreads the rest evenly over the classes.

    ``soft_targets`` (mixed training batches, :class:`flowerdash.data.batches.MixedBatches`):
    a loss taking either class indices (validation) or probability targets ``(B,
    num_classes)`` (training), told apart from the static shapes by :func:`is_soft_target`;
    label smoothing applies to both. Without it the loss is exactly today's.
    """
    if not label_smoothing and not soft_targets:
        return "sparse_categorical_crossentropy"
    import keras

    def smoothed_crossentropy(y_true: Any, y_pred: Any) -> Any:
        target = _target_distribution(y_true, y_pred, num_classes)
        return keras.losses.categorical_crossentropy(
            target, y_pred, label_smoothing=label_smoothing
        )

    return smoothed_crossentropy


def build_accuracy(num_classes: int, *, soft_targets: bool = False) -> Any:
    """The ``accuracy`` metric: Keras' own for class indices; with ``soft_targets`` one that
    also takes probability targets and counts a hit when the prediction's top class is the
    target's (still named ``accuracy``, so history columns stay ``accuracy``/``val_accuracy``).
    """
    if not soft_targets:
        return "accuracy"
    import keras

    def accuracy(y_true: Any, y_pred: Any) -> Any:
        target = _target_distribution(y_true, y_pred, num_classes)
        hits = keras.ops.equal(keras.ops.argmax(target, axis=-1), keras.ops.argmax(y_pred, axis=-1))
        return keras.ops.cast(hits, "float32")

    return keras.metrics.MeanMetricWrapper(accuracy, name="accuracy")


def is_soft_target(y_true: Any, y_pred: Any, num_classes: int) -> bool:
    """True when ``y_true`` holds probabilities (same rank as ``y_pred``, ``num_classes`` last),
    False for class indices (``(B,)`` or ``(B, 1)``); decided from static shapes."""
    shape = tuple(y_true.shape)
    return len(shape) == len(tuple(y_pred.shape)) and shape[-1] == num_classes


def _target_distribution(y_true: Any, y_pred: Any, num_classes: int) -> Any:
    """``y_true`` as a float distribution over the classes (one-hot for class indices)."""
    import keras

    if is_soft_target(y_true, y_pred, num_classes):
        return keras.ops.cast(y_true, y_pred.dtype)
    indices = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32")
    return keras.ops.one_hot(indices, num_classes, dtype=y_pred.dtype)


def batchnorm_momentum(total_steps: int) -> float:
    """A moving-average momentum whose window (``1 / (1 - momentum)`` steps) is about a tenth
    of the run, clipped to :data:`BN_MOMENTUM_RANGE`: Keras' 0.99 needs hundreds of steps
    before the inference statistics match the weights."""
    low, high = BN_MOMENTUM_RANGE
    return min(high, max(low, 1.0 - 10.0 / max(1, total_steps)))


def set_batchnorm_momentum(model: keras.Model, momentum: float) -> int:
    """Set every BatchNormalization layer's momentum (nested models too); return how many."""
    import keras

    count = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum
            count += 1
        elif hasattr(layer, "layers"):
            count += set_batchnorm_momentum(layer, momentum)
    return count
