"""Tiny image CSVs for training tests: each class is a colour, learnable in an epoch or two."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def write_image_csv(
    path: Path,
    labels: Sequence[str],
    *,
    shape: tuple[int, int, int] = (12, 12, 3),
    seed: int = 0,
    palette: Sequence[str] | None = None,
) -> Path:
    """Write one row per label (no header, label first); class k is brightest in channel k."""
    rng = np.random.default_rng(seed)
    palette = list(palette or sorted(set(labels)))
    lines = []
    for label in labels:
        image = rng.integers(0, 60, shape)
        image[..., palette.index(label) % shape[2]] += 150
        lines.append(label + "," + ",".join(map(str, image.ravel())))
    path.write_text("\n".join(lines) + "\n")
    return path
