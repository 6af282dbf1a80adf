"""Optimizers by name, with the tutorial's SGD learning-rate decay as a Keras 3 schedule.

The tutorial's ``SGD(lr=0.01, momentum=0.9, decay=0.01 / epochs)`` no longer exists in Keras 3.
Keras 2's ``decay`` updated the rate at every batch (every optimizer iteration):
``lr_t = lr / (1 + decay * iterations)``. ``InverseTimeDecay(lr, decay_steps=1,
decay_rate=decay)`` computes ``lr / (1 + decay_rate * step / decay_steps)``, the same formula,
so the schedule reproduces it step for step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowerdash.errors import ConfigError

if TYPE_CHECKING:
    import keras

SGD_MOMENTUM = 0.9
#: The tutorial's decay numerator: decay = 0.01 / epochs.
SGD_DECAY_NUMERATOR = 0.01


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


def build_optimizer(name: str, learning_rate: float, epochs: int) -> keras.optimizers.Optimizer:
    """Return the optimizer ``name`` ("sgd" or "adam"). Raises ConfigError for another name."""
    import keras

    if name == "sgd":
        schedule = sgd_schedule(learning_rate, epochs)
        return keras.optimizers.SGD(learning_rate=schedule, momentum=SGD_MOMENTUM)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=learning_rate)
    raise ConfigError(f"unknown optimizer {name!r}; expected sgd or adam")
