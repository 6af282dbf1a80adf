"""Learning-rate finder: smoothing, the suggestion rule, and a real short range test."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from train_fixtures import write_image_csv

from flowerdash.cli import main
from flowerdash.errors import ConfigError
from flowerdash.lr_finder import RangeTest, describe, smooth_losses, suggest_rate


def test_smoothing_is_bias_corrected():
    assert smooth_losses([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])
    smoothed = smooth_losses([1.0, 3.0])
    assert smoothed[0] == pytest.approx(1.0) and 1.0 < smoothed[1] < 3.0


def test_suggestion_is_the_steepest_fall_before_the_minimum():
    rates = list(np.geomspace(1e-5, 1.0, 50))
    # Flat, then a fall that is steepest near 1e-2, a minimum near 1e-1, then a rise.
    logs = np.log10(rates)
    losses = list(2.0 - np.tanh((logs + 2.0) * 2.0) + np.where(logs > -1, (logs + 1) * 8, 0))
    suggestion = suggest_rate(rates, losses)
    assert suggestion is not None and 5e-3 < suggestion < 2e-2


def test_no_suggestion_when_the_loss_never_falls():
    rates = list(np.geomspace(1e-5, 1.0, 20))
    assert suggest_rate(rates, list(np.linspace(1.0, 3.0, 20))) is None
    assert suggest_rate(rates[:2], [1.0, 0.5]) is None


def test_result_round_trips_through_json_with_a_nan_loss():
    result = RangeTest([1e-3, 1e-2], [0.5, math.nan], [0.5, math.nan], None, "exploded", 1.0)
    again = RangeTest.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.rates == result.rates and math.isnan(again.losses[1])
    assert describe(again).startswith("no suggestion")
    assert "the loss exploded" in describe(again)


def test_bounds_are_checked():
    from flowerdash.lr_finder import lr_range_test

    with pytest.raises(ConfigError, match="3 to 500 steps"):
        lr_range_test(None, None, np.zeros((1, 2, 2, 3)), np.zeros(1), steps=1000)
    with pytest.raises(ConfigError, match="0 < start < end"):
        lr_range_test(None, None, np.zeros((1, 2, 2, 3)), np.zeros(1), start=1.0, end=0.1)


@pytest.mark.slow
def test_range_test_grows_the_rate_stops_on_explosion_and_leaves_the_model_alone():
    import keras

    from flowerdash.lr_finder import lr_range_test
    from flowerdash.models import build_model

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 12, 12, 3)).astype(np.uint8)
    labels = rng.integers(0, 3, 64)
    model = build_model("minivggnet", (12, 12, 3), 3)
    before = [w.copy() for w in model.get_weights()]
    optimizer = keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)
    result = lr_range_test(
        model, optimizer, images, labels, batch_size=8, start=1e-4, end=1e4, steps=40
    )
    assert result.stopped == "exploded" and len(result.rates) < 40
    ratios = np.diff(np.log(result.rates))
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-6)
    assert result.rates[0] == pytest.approx(1e-4)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    assert float(optimizer.learning_rate) == pytest.approx(0.01)


def test_lr_finder_figure_marks_the_suggestion_on_a_log_axis():
    from flowerdash.charts.saliency import lr_finder_figure

    rates = [1e-4, 1e-3, 1e-2, 1e-1]
    figure = lr_finder_figure(rates, [2.0, 1.5, 1.0, 4.0], 1e-2, smoothed=[2.0, 1.6, 1.2, 2.0])
    assert figure.layout.xaxis.type == "log"
    marker = figure.data[-1]
    assert list(marker.x) == [1e-2] and list(marker.y) == [1.2]
    assert marker.text[0] == "suggested 0.01"


def test_lr_find_of_a_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main(["lr-find", "--train", str(tmp_path / "nope.csv"), "--steps", "5"]) == 2
    assert "nope.csv" in capsys.readouterr().err


@pytest.mark.slow
def test_lr_finder_in_a_child_process_passes_the_settings_as_options(tmp_path):
    from flowerdash.lr_finder import find_learning_rate_in_subprocess

    train = write_image_csv(tmp_path / "train.csv", ["a", "b"] * 8, seed=1)
    result = find_learning_rate_in_subprocess(
        train,
        {"batch_size": 4, "augment": False, "optimizer": "adam", "learning_rate": 0.5},
        steps=5,
        max_seconds=60,
    )
    assert len(result.rates) == 5 and result.rates[0] == pytest.approx(1e-5)


def test_lr_finder_child_failure_is_a_run_error(tmp_path):
    from flowerdash.errors import RunError
    from flowerdash.lr_finder import find_learning_rate_in_subprocess

    with pytest.raises(RunError, match=r"nope\.csv"):
        find_learning_rate_in_subprocess(tmp_path / "nope.csv", {}, steps=5, max_seconds=5)
