"""Training figures: the live chart, a finished run's curves and the runs overlay."""

from __future__ import annotations

import pandas as pd
import pytest

from flowerdash.charts.training import (
    batch_position,
    history_figure,
    live_training_figure,
    runs_overlay_figure,
)


def _batch(epoch: int, batch: int, loss: float, accuracy: float, batches: int = 4) -> dict:
    return {
        "kind": "batch",
        "epoch": epoch,
        "batch": batch,
        "batches": batches,
        "loss": loss,
        "accuracy": accuracy,
        "time": 0.0,
    }


def _epoch(epoch: int, loss: float, accuracy: float, val_loss=None, val_accuracy=None) -> dict:
    record = {
        "kind": "epoch",
        "epoch": epoch,
        "batch": 4,
        "batches": 4,
        "loss": loss,
        "accuracy": accuracy,
        "time": 0.0,
    }
    if val_loss is not None:
        record.update(val_loss=val_loss, val_accuracy=val_accuracy)
    return record


def _trace(figure, name: str, xaxis: str):
    return next(t for t in figure.data if t.name == name and t.xaxis == xaxis)


def test_batch_points_of_an_epoch_lead_up_to_its_epoch_number():
    assert batch_position(_batch(2, 1, 0.0, 0.0)) == pytest.approx(1.25)
    assert batch_position(_batch(2, 4, 0.0, 0.0)) == pytest.approx(2.0)


def test_live_figure_puts_batch_losses_on_the_loss_panel_at_fractional_epochs():
    figure = live_training_figure([_batch(1, 1, 2.0, 0.1), _batch(1, 2, 1.5, 0.3)], [])
    trace = _trace(figure, "training (per batch)", "x")
    assert list(trace.x) == pytest.approx([0.25, 0.5])
    assert list(trace.y) == [2.0, 1.5]


def test_live_figure_puts_batch_accuracy_on_the_accuracy_panel():
    figure = live_training_figure([_batch(1, 1, 2.0, 0.1)], [])
    assert list(_trace(figure, "training (per batch)", "x2").y) == [0.1]


def test_live_figure_shows_validation_points_per_epoch():
    epochs = [_epoch(1, 1.0, 0.5, 1.2, 0.4), _epoch(2, 0.8, 0.6, 0.9, 0.55)]
    figure = live_training_figure([], epochs)
    validation = _trace(figure, "validation (epoch)", "x2")
    assert list(validation.x) == [1.0, 2.0]
    assert list(validation.y) == [0.4, 0.55]


def test_live_figure_leaves_out_epochs_without_validation_values():
    figure = live_training_figure([], [_epoch(1, 1.0, 0.5)])
    assert len(_trace(figure, "validation (epoch)", "x").x) == 0
    assert list(_trace(figure, "training (epoch)", "x").y) == [1.0]


def test_history_figure_numbers_epochs_from_one():
    history = pd.DataFrame(
        {
            "epoch": [0, 1],
            "loss": [1.0, 0.5],
            "accuracy": [0.3, 0.6],
            "val_loss": [1.1, 0.7],
            "val_accuracy": [0.2, 0.5],
        }
    )
    figure = history_figure(history)
    assert list(_trace(figure, "validation", "x2").x) == [1, 2]
    assert list(_trace(figure, "validation", "x2").y) == [0.2, 0.5]


def test_runs_overlay_has_one_line_per_run_with_the_metric():
    with_metric = pd.DataFrame({"epoch": [0, 1], "val_accuracy": [0.3, 0.4]})
    without = pd.DataFrame({"epoch": [0], "loss": [1.0]})
    figure = runs_overlay_figure({"run a": with_metric, "run b": without}, "val_accuracy")
    assert [t.name for t in figure.data] == ["run a"]
    assert list(figure.data[0].y) == [0.3, 0.4]


def test_live_figure_spans_the_planned_epochs_when_given():
    figure = live_training_figure([_batch(1, 1, 2.0, 0.1)], [], epochs=5)
    assert list(figure.layout.xaxis.range) == [0, 5]
    assert list(figure.layout.xaxis2.range) == [0, 5]


def test_loss_panel_can_use_a_log_scale():
    figure = live_training_figure([], [_epoch(1, 1.0, 0.5, 90.0, 0.2)], log_loss=True)
    assert figure.layout.yaxis.type == "log"
    assert figure.layout.yaxis2.type != "log"


def test_live_figure_shows_batch_points_of_the_epoch_in_progress_only():
    batches = [_batch(1, 2, 2.0, 0.1), _batch(1, 4, 1.8, 0.2), _batch(2, 2, 1.5, 0.3)]
    figure = live_training_figure(batches, [_epoch(1, 1.7, 0.25)])
    assert list(_trace(figure, "training (per batch)", "x").x) == pytest.approx([1.5])


def test_epoch_axes_tick_whole_epochs() -> None:
    from flowerdash.charts.training import epoch_tick_step

    assert epoch_tick_step(2) == 1
    assert epoch_tick_step(8) == 1
    assert epoch_tick_step(75) == 10
    history = pd.DataFrame({"epoch": [0, 1], "loss": [1.0, 0.5], "accuracy": [0.3, 0.6]})
    figure = history_figure(history)
    assert figure.layout.xaxis.dtick == 1
    assert runs_overlay_figure({"a": history}, "accuracy").layout.xaxis.dtick == 1
