"""Plotly figures of training curves: the live chart, a finished run's curves, a runs overlay.

Pure functions of plain data (progress records, history tables); no Streamlit, no Keras.
The x axis is always in epochs: a batch record of epoch ``e`` (1-based) at batch ``b`` of
``n`` sits at ``e - 1 + b / n``, and an epoch record at ``e``, so the per-batch points of an
epoch lead up to its per-epoch point.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

#: Colours shared by every training figure: training blue, validation orange.
TRAIN_COLOR = "#1f77b4"
VALIDATION_COLOR = "#ff7f0e"
_METRICS = (("loss", "Loss"), ("accuracy", "Accuracy"))


def batch_position(record: Mapping[str, Any]) -> float:
    """Return where a batch record sits on the epoch axis (``epoch - 1 + batch / batches``)."""
    batches = max(int(record.get("batches") or 1), 1)
    return int(record["epoch"]) - 1 + int(record["batch"]) / batches


def epoch_tick_step(last_epoch: float) -> int:
    """A whole-number step for epoch-axis ticks: about eight ticks up to ``last_epoch``."""
    return max(1, math.ceil(last_epoch / 8))


@functools.lru_cache(maxsize=16)
def _two_panel_layout(height: int, epochs: int | None, log_loss: bool = False) -> go.Layout:
    """The loss | accuracy subplot layout. Cached: ``make_subplots`` and layout validation
    cost ~30 ms, and the live chart is rebuilt every second."""
    figure = make_subplots(
        rows=1, cols=2, subplot_titles=[title for _, title in _METRICS], horizontal_spacing=0.1
    )
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0},
        hovermode="x unified",
    )
    figure.update_xaxes(title_text="epoch", rangemode="tozero")
    if epochs:
        figure.update_xaxes(range=[0, epochs], tick0=0, dtick=epoch_tick_step(epochs))
    figure.update_yaxes(rangemode="tozero")
    if log_loss:  # a validation loss far above the training loss flattens a linear axis
        figure.update_yaxes(type="log", rangemode="normal", row=1, col=1)
    figure.update_yaxes(range=[0, 1.02], row=1, col=2)
    return figure.layout


def _axis(letter: str, col: int) -> str:
    """The axis id of panel ``col`` (1-based): x, x2, ... / y, y2, ..."""
    return letter if col == 1 else f"{letter}{col}"


def _two_panel_figure(height: int, epochs: int | None = None, log_loss: bool = False) -> go.Figure:
    return go.Figure(layout=_two_panel_layout(height, epochs, log_loss))


def _values(records: Sequence[Mapping[str, Any]], key: str) -> tuple[list[float], list[float]]:
    """Return the (x, y) of the epoch records that hold ``key``, x being the epoch number."""
    points = [(float(r["epoch"]), float(r[key])) for r in records if r.get(key) is not None]
    return [x for x, _ in points], [y for _, y in points]


def live_training_figure(
    batch_records: Sequence[Mapping[str, Any]],
    epoch_records: Sequence[Mapping[str, Any]],
    *,
    epochs: int | None = None,
    log_loss: bool = False,
    height: int = 360,
) -> go.Figure:
    """Return the live loss and accuracy chart.

    ``batch_records`` and ``epoch_records`` are ``progress.jsonl`` records (``kind`` "batch"
    and "epoch"). Per-batch training values of the epoch in progress are a thin line of small
    points (a finished epoch is summed up by its per-epoch point, which keeps the chart light
    over long runs); per-epoch training and validation values are large markers joined by
    lines. With ``epochs`` (the
    planned count) the x axis spans the whole run, so the chart also shows how far it got;
    ``log_loss`` puts the loss on a log scale.
    """
    traces: list[go.Scatter] = []
    completed = max((int(r["epoch"]) for r in epoch_records), default=0)
    batch_records = [r for r in batch_records if int(r["epoch"]) > completed]
    batch_x = [batch_position(r) for r in batch_records]
    for col, (key, _) in enumerate(_METRICS, start=1):
        first = col == 1
        traces.append(
            go.Scatter(
                x=batch_x,
                y=[r.get(key) for r in batch_records],
                mode="lines+markers",
                name="training (per batch)",
                xaxis=_axis("x", col),
                yaxis=_axis("y", col),
                legendgroup="batch",
                showlegend=first,
                line={"color": TRAIN_COLOR, "width": 1.5},
                marker={"size": 4, "color": TRAIN_COLOR},
                opacity=0.6,
            ),
        )
        for prefix, name, color in (
            ("", "training (epoch)", TRAIN_COLOR),
            ("val_", "validation (epoch)", VALIDATION_COLOR),
        ):
            x, y = _values(epoch_records, prefix + key)
            traces.append(
                go.Scatter(
                    x=x,
                    y=y,
                    mode="lines+markers",
                    name=name,
                    legendgroup=name,
                    showlegend=first,
                    xaxis=_axis("x", col),
                    yaxis=_axis("y", col),
                    line={"color": color, "width": 2},
                    marker={"size": 9, "color": color},
                ),
            )
    return go.Figure(data=traces, layout=_two_panel_layout(height, epochs, log_loss))


def history_figure(
    history: pd.DataFrame, *, log_loss: bool = False, height: int = 340
) -> go.Figure:
    """Return loss and accuracy per epoch, training and validation, from ``history.csv``.

    ``history`` has Keras CSVLogger columns (``epoch`` 0-based, ``loss``, ``accuracy``,
    ``val_loss``, ``val_accuracy``); the figure numbers epochs from 1, as the live chart does.
    ``log_loss`` puts the loss on a log scale.
    """
    figure = _two_panel_figure(height, log_loss=log_loss)
    x = (history["epoch"] + 1).tolist() if "epoch" in history else list(range(1, len(history) + 1))
    figure.update_xaxes(tick0=0, dtick=epoch_tick_step(max(x, default=1)))
    for col, (key, _) in enumerate(_METRICS, start=1):
        for prefix, name, color in (
            ("", "training", TRAIN_COLOR),
            ("val_", "validation", VALIDATION_COLOR),
        ):
            if prefix + key not in history:
                continue
            figure.add_trace(
                go.Scatter(
                    x=x,
                    y=history[prefix + key].tolist(),
                    mode="lines+markers",
                    name=name,
                    legendgroup=name,
                    showlegend=col == 1,
                    xaxis=_axis("x", col),
                    yaxis=_axis("y", col),
                    line={"color": color, "width": 2},
                    marker={"size": 7, "color": color},
                ),
            )
    return figure


def runs_overlay_figure(
    histories: Mapping[str, pd.DataFrame], metric: str = "val_accuracy", *, height: int = 400
) -> go.Figure:
    """Return one line per run of ``metric`` against the epoch (1-based), for comparing runs.

    ``histories`` maps a label shown in the legend to that run's ``history.csv`` table; runs
    without the metric are left out.
    """
    figure = go.Figure()
    for label, history in histories.items():
        if metric not in history or history.empty:
            continue
        x = history["epoch"] + 1 if "epoch" in history else range(1, len(history) + 1)
        figure.add_trace(
            go.Scatter(x=list(x), y=history[metric].tolist(), mode="lines+markers", name=label)
        )
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis_title="epoch",
        yaxis_title=metric.replace("_", " "),
        hovermode="x unified",
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0},
    )
    last = max((max(trace.x, default=1) for trace in figure.data), default=1)
    figure.update_xaxes(tick0=0, dtick=epoch_tick_step(last))
    if metric.endswith("accuracy"):
        figure.update_yaxes(range=[0, 1.02])
    return figure
