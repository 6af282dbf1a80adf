"""Plotly figures of a run's results: the confusion-matrix heatmap and top-k class bars.

Pure functions of plain data (a report's matrix and class names, probability vectors).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go


def row_normalized(matrix: Sequence[Sequence[int]] | np.ndarray) -> np.ndarray:
    """Return each row of a confusion matrix divided by its sum (recall per true class).

    A row with no samples stays all zeros rather than becoming NaN.
    """
    counts = np.asarray(matrix, dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def confusion_matrix_figure(
    matrix: Sequence[Sequence[int]] | np.ndarray,
    classes: Sequence[str],
    *,
    normalize: bool = False,
    height: int | None = None,
) -> go.Figure:
    """Return the confusion matrix as a heatmap: true class down, predicted class across.

    Each cell is labelled with its count, or with the share of its true class when
    ``normalize`` is set; the hover text always gives both. Heatmap cells send no selection
    events to Streamlit (streamlit/streamlit#8760), so a transparent square marker sits on each
    cell: clicking it selects a point whose ``x`` is the predicted class and ``y`` the true one.
    """
    counts = np.asarray(matrix, dtype=int)
    shares = row_normalized(counts)
    labels = [str(c) for c in classes]
    if normalize:
        z, text, zmax = shares, [[f"{v:.0%}" for v in row] for row in shares], 1.0
    else:
        z, text, zmax = counts, [[str(v) for v in row] for row in counts], None
    size = height or min(720, 160 + 44 * len(labels))
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=labels,
            y=labels,
            text=text,
            texttemplate="%{text}",
            hoverinfo="skip",
            colorscale="Blues",
            zmin=0,
            zmax=zmax,
            colorbar={"title": {"text": "share" if normalize else "images"}},
        )
    )
    rows, columns = np.indices(counts.shape)
    figure.add_trace(
        go.Scatter(
            x=[labels[c] for c in columns.ravel()],
            y=[labels[r] for r in rows.ravel()],
            mode="markers",
            name="cells",
            showlegend=False,
            marker={
                "symbol": "square",
                "size": max(12, min(80, int(0.7 * (size - 100) / max(len(labels), 1)))),
                "color": "rgba(0,0,0,0)",
            },
            selected={"marker": {"opacity": 1}},
            unselected={"marker": {"opacity": 1}},
            customdata=np.stack([counts.ravel(), shares.ravel()], axis=1),
            hovertemplate=(
                "true %{y}, predicted %{x}<br>%{customdata[0]} images "
                "(%{customdata[1]:.0%} of %{y})<extra></extra>"
            ),
        )
    )
    figure.update_layout(
        height=size,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"title": "predicted class", "side": "top", "type": "category"},
        yaxis={"title": "true class", "autorange": "reversed", "type": "category"},
    )
    return figure


def top_k_figure(
    classes: Sequence[str],
    probabilities: Sequence[float] | np.ndarray,
    *,
    k: int = 5,
    height: int | None = None,
) -> go.Figure:
    """Return horizontal bars of the ``k`` most probable classes, the most probable on top."""
    probs = np.asarray(probabilities, dtype=float)
    order = np.argsort(-probs, kind="stable")[: max(1, min(k, len(probs)))]
    names = [str(classes[i]) for i in order]
    values = probs[order]
    figure = go.Figure(
        go.Bar(
            x=values,
            y=names,
            orientation="h",
            text=[f"{v:.1%}" for v in values],
            textposition="auto",
            marker={"color": ["#1f77b4"] + ["#9ecae1"] * (len(order) - 1)},
            hovertemplate="%{y}: %{x:.2%}<extra></extra>",
        )
    )
    figure.update_layout(
        height=height or 60 + 32 * len(order),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"range": [0, 1], "tickformat": ".0%"},
        yaxis={"autorange": "reversed", "type": "category"},
    )
    return figure
