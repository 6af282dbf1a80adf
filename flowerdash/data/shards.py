"""Sharding a training set between processes, and datasets split over several CSV files.

- :func:`shard_rows`: the rows process ``index`` of ``count`` trains on (every ``count``-th row,
  so each shard mixes the whole file); the shards are disjoint and cover every row.
- :func:`pad_rows`: a shard's rows repeated cyclically up to a common length, so every process
  takes the same number of steps of the same size (collective steps must line up).
- :class:`RowSubset`: a read-only view of chosen rows of an array (typically the cache's
  memmap), indexed like the array; nothing is read until a batch asks for its rows.
- :func:`expand_train_files`: the files a glob such as ``train-*.csv.gz`` names, sorted;
  :func:`load_files` reads them as one dataset (:class:`ConcatenatedImages` chains their
  memmaps without copying), or only every ``count``-th file for one process of ``count``.

No Keras, no TensorFlow.
"""

from __future__ import annotations

import glob
import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from flowerdash.data.dataset import ImageDataset, load_dataset
from flowerdash.data.labels import class_order, encode_labels
from flowerdash.errors import DatasetError

#: Characters that make a ``--train`` path a glob of shard files.
GLOB_CHARACTERS = frozenset("*?[")


def shard_rows(rows: int, count: int, index: int) -> np.ndarray:
    """Row numbers of shard ``index`` of ``count``: ``index, index + count, ...`` (int64)."""
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard {index} of {count}: expected 0 <= index < count")
    return np.arange(index, rows, count, dtype=np.int64)


def pad_rows(rows: np.ndarray, length: int) -> np.ndarray:
    """``rows`` repeated cyclically to ``length`` entries (``rows`` itself when long enough)."""
    if len(rows) >= length:
        return rows
    if len(rows) == 0:
        raise ValueError("cannot pad an empty shard")
    return np.resize(rows, length)


class RowSubset:
    """The rows ``rows`` of ``array``, indexed like an array of ``len(rows)`` images."""

    def __init__(self, array: Any, rows: np.ndarray) -> None:
        self.array = array
        self.rows = np.asarray(rows, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.rows), *self.array.shape[1:])

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    def __getitem__(self, index: Any) -> np.ndarray:
        return self.array[self.rows[index]]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.array[self.rows], dtype=dtype)


def is_glob(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a pattern (``*``, ``?`` or ``[``) rather than one file."""
    return any(character in GLOB_CHARACTERS for character in str(path))


def expand_train_files(pattern: str | os.PathLike[str]) -> list[Path]:
    """The files ``pattern`` matches, sorted by name; raises DatasetError when none does."""
    files = sorted(Path(name) for name in glob.glob(str(pattern)) if Path(name).is_file())
    if not files:
        raise DatasetError("no file matches this pattern", path=pattern)
    return files


class ConcatenatedImages:
    """Several image arrays (each file's memmap) indexed as one, in order; reads lazily."""

    def __init__(self, arrays: list[Any]) -> None:
        self.arrays = arrays
        self.starts = np.cumsum([0] + [len(array) for array in arrays])

    def __len__(self) -> int:
        return int(self.starts[-1])

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self), *self.arrays[0].shape[1:])

    @property
    def dtype(self) -> np.dtype:
        return self.arrays[0].dtype

    def __getitem__(self, index: Any) -> np.ndarray:
        rows = np.arange(len(self))[index] if isinstance(index, slice) else np.asarray(index)
        if rows.ndim == 0:
            return self[rows.reshape(1)][0]
        out = np.empty((len(rows), *self.shape[1:]), self.dtype)
        owner = np.searchsorted(self.starts, rows, side="right") - 1
        for part in np.unique(owner):
            mask = owner == part
            out[mask] = self.arrays[part][rows[mask] - self.starts[part]]
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self[slice(None)], dtype=dtype)


def load_files(
    path: str | os.PathLike[str],
    shape: tuple[int, int, int] | str | None = None,
    *,
    part: tuple[int, int] | None = None,
    **options: Any,
) -> ImageDataset:
    """``path`` as :func:`~flowerdash.data.load_dataset` reads it, or, when it is a glob, the
    files it names (sorted) as one dataset, each validated and cached on its own.

    ``options`` (``use_cache``, ``limits``...) go to ``load_dataset`` for every file.
    ``part=(index, count)`` keeps the files ``index, index + count, ...`` only (the share of
    process ``index`` of ``count``). Raises DatasetError for a bad file, files of different
    image shapes, or fewer files than ``count``.
    """
    if not is_glob(path):
        return load_dataset(path, shape, **options)
    files = expand_train_files(path)
    if part is not None:
        index, count = part
        if len(files) < count:
            raise DatasetError(
                f"{len(files)} file(s) for {count} processes: each process needs a file",
                path=path,
            )
        files = files[index::count]
    parts = [load_dataset(files[0], shape, **options)]
    for name in files[1:]:
        parts.append(load_dataset(name, shape or parts[0].shape, **options))
        if parts[-1].shape != parts[0].shape:
            raise DatasetError(
                f"images are {'x'.join(map(str, parts[-1].shape))} but {files[0]} holds "
                f"{'x'.join(map(str, parts[0].shape))}; every file of {path} needs one shape",
                path=name,
            )
    if len(parts) == 1 and part is None:
        return parts[0]
    labels = np.concatenate([dataset.labels for dataset in parts])
    classes = class_order(labels)
    digest = hashlib.sha256(" ".join(d.fingerprint for d in parts).encode()).hexdigest()
    return ImageDataset(
        path=os.fspath(path),
        images=ConcatenatedImages([dataset.images for dataset in parts]),
        classes=classes,
        shape=parts[0].shape,
        header=parts[0].header,
        label_column=parts[0].label_column,
        fingerprint=digest,
        from_cache=all(dataset.from_cache for dataset in parts),
        codes=encode_labels(labels, classes, path=path),
    )
