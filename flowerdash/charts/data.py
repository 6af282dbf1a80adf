"""Figures and image helpers for the Data and Augmentation pages.

Pure functions: class counts in, a plotly figure out; uint8 image arrays in, display-ready
uint8 arrays out. No Streamlit, no Keras.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

#: Train and test colours, the same on every data figure.
TRAIN_COLOR = "#7B3FA0"
TEST_COLOR = "#E59A3C"


def class_counts_figure(
    classes: Sequence[str],
    train_counts: Mapping[str, int],
    test_counts: Mapping[str, int] | None = None,
    *,
    height: int = 360,
) -> go.Figure:
    """Return a grouped bar chart of images per class, train beside test.

    ``classes`` fixes the bar order; a class missing from a split counts 0 there (so a test set
    lacking a class shows a visible gap, not a silently shorter axis).
    """
    labels = [str(name) for name in classes]
    figure = go.Figure()
    splits = [("train", train_counts, TRAIN_COLOR), ("test", test_counts, TEST_COLOR)]
    for split, counts, color in splits:
        if counts is None:
            continue
        figure.add_bar(
            name=split,
            x=labels,
            y=[int(counts.get(name, 0)) for name in classes],
            marker_color=color,
            hovertemplate=f"class %{{x}}<br>{split}: %{{y}} images<extra></extra>",
        )
    figure.update_layout(
        barmode="group",
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        xaxis={"title": "class", "type": "category"},
        yaxis={"title": "images"},
        bargap=0.25,
    )
    return figure


def as_display_image(image: np.ndarray) -> np.ndarray:
    """Return an ``(H, W)`` (grayscale) or ``(H, W, 3)`` uint8 array from an ``(H, W, C)`` image.

    One channel becomes a 2-D grayscale image; three channels stay RGB; any other count shows
    its first channel (the dashboard never guesses a colour mapping).
    """
    array = np.asarray(image)
    if array.ndim == 2:
        return array.astype(np.uint8, copy=False)
    if array.shape[-1] == 3:
        return array.astype(np.uint8, copy=False)
    return array[..., 0].astype(np.uint8, copy=False)


def upscale_factor(height: int, width: int, min_side: int) -> int:
    """Return the whole-number zoom that makes the smaller side at least ``min_side`` pixels."""
    smallest = max(min(height, width), 1)
    return max(1, math.ceil(min_side / smallest))


def upscale_nearest(image: np.ndarray, factor: int) -> np.ndarray:
    """Return ``image`` enlarged ``factor`` times by repeating pixels (no blur on 28x28 digits)."""
    if factor <= 1:
        return np.asarray(image)
    return np.repeat(np.repeat(np.asarray(image), factor, axis=0), factor, axis=1)


def fit_factor(height: int, width: int, size: int) -> int:
    """Return the whole-number zoom that brings the larger side to at most ``size`` pixels
    (at least 1: an image already larger is shown as it is)."""
    return max(1, size // max(height, width, 1))


def display_image(image: np.ndarray, size: int = 128) -> np.ndarray:
    """Return one image for display: enlarged by whole pixels (nearest) so its larger side is
    about ``size``, made displayable as ``as_display_image`` does (2-D when grayscale)."""
    array = np.asarray(image)
    return as_display_image(upscale_nearest(array, fit_factor(*array.shape[:2], size)))


def image_grid(
    images: np.ndarray | Sequence[np.ndarray],
    *,
    columns: int,
    min_side: int = 96,
    gap: int = 4,
    background: int = 255,
) -> np.ndarray:
    """Return one uint8 picture laying ``images`` out ``columns`` per row, with white gaps.

    Each image is made displayable (see ``as_display_image``) and enlarged with nearest-neighbour
    so its smaller side is at least ``min_side`` pixels. Grayscale images give a grayscale grid,
    otherwise RGB. Empty cells of the last row are background.
    """
    tiles = [as_display_image(image) for image in images]
    if not tiles:
        raise ValueError("image_grid needs at least one image")
    if columns < 1:
        raise ValueError(f"columns must be at least 1, got {columns}")
    height, width = tiles[0].shape[:2]
    factor = upscale_factor(height, width, min_side)
    rgb = any(tile.ndim == 3 for tile in tiles)
    if rgb:
        tiles = [np.stack([tile] * 3, axis=-1) if tile.ndim == 2 else tile for tile in tiles]
    tiles = [upscale_nearest(tile, factor) for tile in tiles]
    tile_h, tile_w = tiles[0].shape[:2]
    columns = min(columns, len(tiles))
    rows = math.ceil(len(tiles) / columns)
    shape: tuple[int, ...] = (
        rows * tile_h + (rows - 1) * gap,
        columns * tile_w + (columns - 1) * gap,
    )
    if rgb:
        shape = (*shape, 3)
    grid = np.full(shape, background, dtype=np.uint8)
    for position, tile in enumerate(tiles):
        row, column = divmod(position, columns)
        top, left = row * (tile_h + gap), column * (tile_w + gap)
        grid[top : top + tile_h, left : left + tile_w] = tile
    return grid


def sample_indices_per_class(
    labels: np.ndarray | Sequence[str],
    classes: Sequence[str],
    per_class: int,
    *,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Return, for each class, up to ``per_class`` row indices of that class, drawn at random.

    The draw is reproducible for a given ``seed``; indices come back ascending (file order).
    A class with no rows maps to an empty array.
    """
    label_array = np.asarray(labels)
    rng = np.random.default_rng(seed)
    samples: dict[str, np.ndarray] = {}
    for name in classes:
        rows = np.flatnonzero(label_array == name)
        if len(rows) > per_class:
            rows = np.sort(rng.choice(rows, size=per_class, replace=False))
        samples[name] = rows
    return samples
