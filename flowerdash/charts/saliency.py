"""Saliency maps drawn over their images, and the learning-rate finder's curve.

Pure functions of arrays: a Grad-CAM map (``flowerdash.saliency.grad_cam``, HxW in 0..1) blended
over its image with a colour map, and the loss-against-rate figure of an LR range test.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

HEATMAP_COLORMAP = "jet"


def heatmap_colors(saliency: np.ndarray, colormap: str = HEATMAP_COLORMAP) -> np.ndarray:
    """The map ``(H, W)`` in 0..1 as uint8 RGB ``(H, W, 3)`` through a matplotlib colour map."""
    from matplotlib import colormaps

    values = np.clip(np.asarray(saliency, dtype=np.float32), 0.0, 1.0)
    return (colormaps[colormap](values)[..., :3] * 255).round().astype(np.uint8)


def overlay_saliency(
    image: np.ndarray, saliency: np.ndarray, *, alpha: float = 0.45, upscale: int = 1
) -> np.ndarray:
    """The image ``(H, W, C)`` (uint8, C of 1 or 3) with the coloured map blended over it.

    Each pixel mixes ``alpha`` of the heat colour, weighted by the map's value there, so cold
    regions keep the image visible. ``upscale`` repeats pixels (nearest) for display.
    Returns uint8 RGB ``(H*upscale, W*upscale, 3)``.
    """
    picture = np.asarray(image, dtype=np.float32)
    if picture.ndim == 2:
        picture = picture[..., None]
    if picture.shape[-1] == 1:
        picture = np.repeat(picture, 3, axis=-1)
    values = np.clip(np.asarray(saliency, dtype=np.float32), 0.0, 1.0)
    if values.shape != picture.shape[:2]:
        raise ValueError(f"map {values.shape} does not match image {picture.shape[:2]}")
    weight = (alpha * (0.3 + 0.7 * values))[..., None]
    blended = (1 - weight) * picture + weight * heatmap_colors(values).astype(np.float32)
    result = np.clip(blended.round(), 0, 255).astype(np.uint8)
    if upscale > 1:
        result = result.repeat(upscale, axis=0).repeat(upscale, axis=1)
    return result


def lr_finder_figure(
    rates: Sequence[float],
    losses: Sequence[float],
    suggestion: float | None,
    *,
    smoothed: Sequence[float] | None = None,
    height: int = 360,
) -> go.Figure:
    """Loss against learning rate (log axis), the suggested rate marked on the curve."""
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(x=list(rates), y=list(losses), mode="lines", name="loss per step", opacity=0.4)
    )
    if smoothed is not None:
        figure.add_trace(go.Scatter(x=list(rates), y=list(smoothed), mode="lines", name="smoothed"))
    if suggestion is not None:
        # A marker, not add_vline: shapes on a log axis take log10 coordinates.
        curve = np.asarray(smoothed if smoothed is not None else losses, dtype=float)
        at = int(np.argmin(np.abs(np.log(np.asarray(rates, dtype=float)) - np.log(suggestion))))
        figure.add_trace(
            go.Scatter(
                x=[float(suggestion)],
                y=[float(curve[at])],
                mode="markers+text",
                marker={"size": 12, "color": "crimson", "symbol": "x"},
                text=[f"suggested {suggestion:.2g}"],
                textposition="top right",
                name="suggested rate",
            )
        )
    figure.update_layout(
        xaxis_title="learning rate",
        yaxis_title="training loss",
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": 1.12},
    )
    figure.update_xaxes(type="log")
    return figure
