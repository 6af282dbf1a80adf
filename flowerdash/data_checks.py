"""Checks across datasets: one image shape for train, test and model; leaks (test images that
are also training images).

No Keras, no Streamlit: plain NumPy arrays in, plain results out.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from flowerdash.data.csv_format import format_shape
from flowerdash.errors import ConfigError, ShapeProblem


@dataclass(frozen=True)
class LeakCheck:
    """Test rows whose pixels are byte-identical to a training row.

    ``test_indices`` (0-based rows of the test set, ascending) and ``train_indices`` (for each,
    the first training row with the same pixels) have the same length.
    """

    test_rows: int
    test_indices: np.ndarray
    train_indices: np.ndarray

    @property
    def leaked(self) -> int:
        """How many test rows also appear in the training set."""
        return len(self.test_indices)

    @property
    def fraction(self) -> float:
        """The leaked share of the test set (0.0 for an empty test set)."""
        return self.leaked / self.test_rows if self.test_rows else 0.0


def _row_digests(images: np.ndarray) -> list[bytes]:
    rows = np.ascontiguousarray(images).reshape(len(images), -1)
    # A 128-bit BLAKE2 digest per row: exact in practice, and about 10x faster than hashing
    # with NumPy arithmetic or comparing rows as opaque byte strings (np.isin on np.void).
    return [hashlib.blake2b(row.data, digest_size=16).digest() for row in rows]


def find_leaked_rows(train_images: np.ndarray, test_images: np.ndarray) -> LeakCheck:
    """Return which test images are byte-identical to a training image.

    Both arrays hold one image per row (``(N, H, W, C)`` or ``(N, D)``); only pixels are
    compared, so a copied image counts whatever its label. Images of different shapes never
    match (the result is then empty).
    """
    test_rows = len(test_images)
    empty = np.empty(0, dtype=np.int64)
    if test_rows == 0 or len(train_images) == 0:
        return LeakCheck(test_rows, empty, empty)
    if train_images[0].shape != test_images[0].shape or train_images.dtype != test_images.dtype:
        return LeakCheck(test_rows, empty, empty)
    first_train_row: dict[bytes, int] = {}
    for index, digest in enumerate(_row_digests(train_images)):
        first_train_row.setdefault(digest, index)
    test_indices, train_indices = [], []
    for index, digest in enumerate(_row_digests(test_images)):
        match = first_train_row.get(digest)
        if match is not None:
            test_indices.append(index)
            train_indices.append(match)
    return LeakCheck(
        test_rows,
        np.asarray(test_indices, dtype=np.int64),
        np.asarray(train_indices, dtype=np.int64),
    )


class ShapeMismatch(ConfigError, ShapeProblem):
    """Images of one file do not have the shape they must have (the training images', or the
    model's input). ``path``, ``found`` and ``expected`` are kept for callers that lay the
    message out themselves or offer a fix (typing the shape)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        found: Sequence[int],
        expected: Sequence[int],
        against: str,
    ) -> None:
        self.path = os.fspath(path)
        self.found = tuple(int(side) for side in found)
        self.expected = tuple(int(side) for side in expected)
        super().__init__(
            f"{self.path}: images are {format_shape(self.found)}, expected "
            f"{format_shape(self.expected)} like {against}; the images must have the same shape"
        )


def check_same_shape(
    path: str | os.PathLike[str],
    found: Sequence[int],
    expected: Sequence[int],
    *,
    against: str,
) -> None:
    """Raise ShapeMismatch unless images of shape ``found`` (in ``path``) have the ``expected``
    shape of ``against`` (e.g. "the training images (train.csv)", "the model's input").

    The rule "train and test images, and the images a model is given, have one shape" lives
    here only.
    """
    if tuple(int(side) for side in found) != tuple(int(side) for side in expected):
        raise ShapeMismatch(path, found, expected, against)


@dataclass(frozen=True)
class ClassComparison:
    """How the classes of a test set relate to the training set's.

    ``unknown``: test classes the training set lacks (a model cannot learn them; training
    refuses them). ``absent``: training classes with no test image (the report has no test
    figures for them). ``all``: the training classes in their order, then the unknown ones in
    the test set's.
    """

    unknown: list[str]
    absent: list[str]
    all: list[str]


def compare_classes(train_classes: Sequence[str], test_classes: Sequence[str]) -> ClassComparison:
    """Compare the class lists of a training and a test set (each in its own order)."""
    train, test = [str(c) for c in train_classes], [str(c) for c in test_classes]
    unknown = [name for name in test if name not in set(train)]
    return ClassComparison(
        unknown=sorted(unknown),
        absent=[name for name in train if name not in set(test)],
        all=train + unknown,  # the unknown ones in the test set's order
    )
