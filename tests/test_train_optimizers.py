"""Optimizers, schedules, the loss and BatchNorm momentum built from the settings."""

from __future__ import annotations

import numpy as np
import pytest

from flowerdash.errors import ConfigError
from flowerdash.settings import TrainSettings
from flowerdash.train.optimizers import (
    batchnorm_momentum,
    build_accuracy,
    build_loss,
    build_optimizer,
    set_batchnorm_momentum,
    sgd_schedule,
)

keras = pytest.importorskip("keras")


@pytest.mark.parametrize("step", [0, 1, 12, 900])
def test_sgd_schedule_is_keras2_decay_per_iteration(step):
    expected = 0.01 / (1 + (0.01 / 75) * step)  # Keras 2: lr / (1 + decay * iterations)
    assert float(sgd_schedule(0.01, epochs=75)(step)) == pytest.approx(expected, rel=1e-6)


def test_tutorial_sgd_follows_the_decay_as_iterations_advance():
    optimizer = build_optimizer(TrainSettings(epochs=2), steps_per_epoch=12)
    assert optimizer.momentum == 0.9 and not optimizer.nesterov
    optimizer.iterations.assign(10)
    assert float(optimizer.learning_rate) == pytest.approx(0.01 / (1 + 0.005 * 10), rel=1e-6)


def test_constant_schedule_keeps_the_rate():
    optimizer = build_optimizer(
        TrainSettings(optimizer="adam", learning_rate=0.001, schedule="constant"), 12
    )
    optimizer.iterations.assign(500)
    assert float(optimizer.learning_rate) == pytest.approx(0.001)


@pytest.mark.parametrize("epochs", [2, 100])
def test_warmup_cosine_spans_the_whole_run_whatever_its_length(epochs):
    settings = TrainSettings(
        optimizer="adamw", learning_rate=0.003, schedule="warmup_cosine", warmup=0.1,
        weight_decay=0.05, epochs=epochs,
    )  # fmt: skip
    optimizer = build_optimizer(settings, steps_per_epoch=60)
    total = epochs * 60

    def rate(step: int) -> float:
        optimizer.iterations.assign(step)
        return float(optimizer.learning_rate)

    assert rate(0) == pytest.approx(0.0, abs=1e-9)
    assert rate(round(0.1 * total)) == pytest.approx(0.003, rel=1e-3)
    assert rate(total // 2) < 0.003 and rate(total) == pytest.approx(0.0, abs=1e-7)
    assert isinstance(optimizer, keras.optimizers.AdamW) and optimizer.weight_decay == 0.05


def test_nesterov_has_decoupled_weight_decay_but_not_on_batchnorm_or_bias():
    optimizer = build_optimizer(TrainSettings(optimizer="nesterov", weight_decay=5e-4), 10)
    assert optimizer.nesterov and optimizer.weight_decay == pytest.approx(5e-4)
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Conv2D(2, 3), keras.layers.BatchNormalization()]
    )
    optimizer.build(model.trainable_variables)
    decayed = {v.name: optimizer._use_weight_decay(v) for v in model.trainable_variables}
    assert decayed == {"kernel": True, "bias": False, "gamma": False, "beta": False}


def test_label_smoothing_moves_the_target_off_one_hot():
    probabilities = np.array([[0.7, 0.2, 0.1]], dtype="float32")
    plain = build_loss(0.0, 3)
    assert plain == "sparse_categorical_crossentropy"
    smoothed = build_loss(0.3, 3)
    target = np.array([0.8, 0.1, 0.1])  # 0.7 of the one-hot plus 0.3 / 3 everywhere
    expected = -(target * np.log(probabilities[0])).sum()
    assert float(smoothed(np.array([0]), probabilities)[0]) == pytest.approx(expected, rel=1e-5)


def test_batchnorm_momentum_fits_the_number_of_steps():
    assert batchnorm_momentum(126) == pytest.approx(1 - 10 / 126)
    assert batchnorm_momentum(10) == 0.8 and batchnorm_momentum(100_000) == 0.99
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.BatchNormalization(), keras.layers.Flatten()]
    )
    assert set_batchnorm_momentum(model, 0.9) == 1
    assert model.layers[0].momentum == 0.9


def test_unknown_optimizer_is_a_config_error():
    settings = TrainSettings()
    object.__setattr__(settings, "optimizer", "rmsprop")
    with pytest.raises(ConfigError, match="rmsprop"):
        build_optimizer(settings, 1)


LABELS = np.array([0, 2, 1, 2])
PROBABILITIES = np.array(
    [[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.4, 0.1], [0.2, 0.5, 0.3]], dtype="float32"
)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_soft_target_loss_equals_the_sparse_one_on_one_hot_targets(smoothing):
    sparse = build_loss(smoothing, 3)  # Keras' own by name without smoothing
    sparse = keras.losses.get(sparse) if isinstance(sparse, str) else sparse
    soft = build_loss(smoothing, 3, soft_targets=True)
    expected = np.asarray(sparse(LABELS, PROBABILITIES))
    one_hot = np.eye(3, dtype="float32")[LABELS]
    assert np.allclose(np.asarray(soft(one_hot, PROBABILITIES)), expected, rtol=1e-5)
    # Validation gives class indices, (B,) or (B, 1) after Keras' rank matching.
    assert np.allclose(np.asarray(soft(LABELS, PROBABILITIES)), expected, rtol=1e-5)
    assert np.allclose(np.asarray(soft(LABELS[:, None], PROBABILITIES)), expected, rtol=1e-5)


def test_soft_target_loss_weighs_a_mixed_target():
    soft = build_loss(0.0, 3, soft_targets=True)
    target = np.array([[0.25, 0.0, 0.75]], dtype="float32")
    expected = -(0.25 * np.log(0.7) + 0.75 * np.log(0.1))
    assert float(soft(target, PROBABILITIES[:1])[0]) == pytest.approx(expected, rel=1e-5)


def test_soft_target_accuracy_is_named_accuracy_and_equals_the_sparse_one():
    assert build_accuracy(3) == "accuracy"
    sparse = keras.metrics.SparseCategoricalAccuracy()
    sparse.update_state(LABELS, PROBABILITIES)
    for targets in (np.eye(3, dtype="float32")[LABELS], LABELS, LABELS[:, None]):
        metric = build_accuracy(3, soft_targets=True)
        assert metric.name == "accuracy"
        metric.update_state(targets, PROBABILITIES)
        assert float(metric.result()) == pytest.approx(float(sparse.result())) == 0.5


def test_soft_target_accuracy_compares_the_top_classes():
    metric = build_accuracy(3, soft_targets=True)
    mixed = np.array([[0.6, 0.0, 0.4], [0.3, 0.7, 0.0]], dtype="float32")  # top: 0, 1
    metric.update_state(mixed, PROBABILITIES[:2])  # predicted top: 0, 2
    assert float(metric.result()) == pytest.approx(0.5)
