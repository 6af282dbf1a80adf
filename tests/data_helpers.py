"""Helpers for the data tests: write small image CSVs in the dialects people publish."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent


def csv_text(
    labels: Sequence[str],
    images: np.ndarray,
    *,
    header: bool = False,
    label_last: bool = False,
    newline: str = "\n",
    final_newline: bool = True,
) -> str:
    """Lines of a label and the flattened pixels of each image."""
    flat = images.reshape(len(images), -1)
    lines = []
    if header:
        names = [f"pixel{i + 1}" for i in range(flat.shape[1])]
        lines.append(",".join([*names, "class"] if label_last else ["label", *names]))
    for label, row in zip(labels, flat, strict=True):
        values = [str(v) for v in row.tolist()]
        lines.append(",".join([*values, label] if label_last else [label, *values]))
    text = newline.join(lines)
    return text + newline if final_newline else text


def write(path: Path, content: str | bytes, *, compress: bool = False) -> Path:
    """Write ``content`` (text is encoded as UTF-8), gzip-compressed when asked."""
    data = content.encode() if isinstance(content, str) else content
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def random_images(count: int, shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, *shape), dtype=np.uint8)
