"""Class labels: decoding label bytes, the stable class order, and labels -> integer indices."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence

import numpy as np

from flowerdash.errors import DatasetError

_INTEGER = re.compile(r"-?\d+")


def decode_label(raw: bytes) -> str:
    """Label text: UTF-8, or Latin-1 for bytes that are not UTF-8 (lossless, never fails)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def class_order(labels: Iterable[str]) -> list[str]:
    """Return the distinct labels in the stable class order.

    Numeric order when every label is an integer (``"2"`` before ``"10"``), else sorted
    strings. The order is saved with the dataset so class indices never change between runs.
    """
    distinct = set(labels)
    if distinct and all(_INTEGER.fullmatch(label) for label in distinct):
        return sorted(distinct, key=lambda label: (int(label), label))
    return sorted(distinct)


def encode_labels(
    labels: np.ndarray,
    classes: Sequence[str],
    *,
    path: str | os.PathLike[str] | None = None,
) -> np.ndarray:
    """Return the int32 index of each label in ``classes``.

    Raises ``DatasetError`` listing the labels that are not in ``classes`` (for example a test
    file with a class the training file lacks).
    """
    distinct, inverse = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
    position = {name: index for index, name in enumerate(classes)}
    unknown = [str(name) for name in distinct if str(name) not in position]
    if unknown:
        shown = ", ".join(repr(name) for name in unknown[:20])
        more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
        raise DatasetError(
            f"{len(unknown)} label(s) not among the {len(classes)} known classes: {shown}{more}; "
            f"expected only labels from {list(classes)[:20]}",
            path=path,
        )
    mapping = np.array([position[str(name)] for name in distinct], dtype=np.int32)
    return mapping[inverse.reshape(-1)] if mapping.size else np.zeros(0, np.int32)
