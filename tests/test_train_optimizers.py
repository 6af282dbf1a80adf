"""Optimizers: the tutorial's SGD decay as a Keras 3 schedule."""

from __future__ import annotations

import pytest

from flowerdash.errors import ConfigError
from flowerdash.train.optimizers import build_optimizer, sgd_schedule

keras = pytest.importorskip("keras")


@pytest.mark.parametrize("step", [0, 1, 12, 900])
def test_sgd_schedule_is_keras2_decay_per_iteration(step):
    expected = 0.01 / (1 + (0.01 / 75) * step)  # Keras 2: lr / (1 + decay * iterations)
    assert float(sgd_schedule(0.01, epochs=75)(step)) == pytest.approx(expected, rel=1e-6)


def test_sgd_learning_rate_follows_the_schedule_as_iterations_advance():
    optimizer = build_optimizer("sgd", 0.01, epochs=2)
    optimizer.iterations.assign(10)
    assert float(optimizer.learning_rate) == pytest.approx(0.01 / (1 + 0.005 * 10), rel=1e-6)


def test_sgd_has_the_tutorials_momentum():
    assert build_optimizer("sgd", 0.01, epochs=75).momentum == 0.9


def test_adam_keeps_a_constant_learning_rate():
    optimizer = build_optimizer("adam", 0.001, epochs=75)
    assert float(optimizer.learning_rate) == pytest.approx(0.001)


def test_unknown_optimizer_is_a_config_error():
    with pytest.raises(ConfigError, match="rmsprop"):
        build_optimizer("rmsprop", 0.01, epochs=1)
