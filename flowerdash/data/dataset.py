"""``ImageDataset`` and ``load_dataset``: a validated image CSV, parsed once, then memory-mapped
from the binary cache."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from flowerdash.data import cache, parser
from flowerdash.data.csv_format import (
    CsvLayout,
    detect_layout,
    open_binary,
    parse_shape,
    read_first_line,
    regular_file_stat,
    resolve_shape,
)
from flowerdash.data.labels import class_order, decode_label, encode_labels
from flowerdash.data.limits import ReadLimits
from flowerdash.data.parser import CHUNK_BYTES, ParsedLabels, iter_decoded, line_limit
from flowerdash.errors import DatasetError


@dataclass(eq=False)
class ImageDataset:
    """A parsed image CSV.

    ``images`` is uint8 ``(N, H, W, C)`` (a read-only memmap when it comes from the cache),
    ``classes`` the distinct labels in stable order (numeric when all are integers, else
    sorted), ``codes`` each row's index in ``classes`` (uint16; a read-only memmap from the
    cache), ``label_column`` the header name of the label column or its 0-based index when
    there is no header, ``fingerprint`` the content hash, ``counts`` the rows per class when
    known (so a summary never reads every row's code).
    """

    path: str
    images: np.ndarray
    classes: list[str]
    shape: tuple[int, int, int]
    header: bool
    label_column: str | int
    fingerprint: str
    from_cache: bool
    codes: np.ndarray
    counts: Sequence[int] | None = None

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @cached_property
    def labels(self) -> np.ndarray:
        """The label text of each row (built on first use: one string per row)."""
        return np.asarray(self.classes)[self.codes]

    def class_counts(self) -> dict[str, int]:
        """Rows per class, in class order."""
        counts = self.counts
        if counts is None or len(counts) != len(self.classes):
            counts = np.bincount(self.codes, minlength=len(self.classes)).tolist()
        return {name: int(count) for name, count in zip(self.classes, counts, strict=True)}

    def label_indices(self, classes: Sequence[str] | None = None) -> np.ndarray:
        """Each row's class index (int32) in ``classes`` (default: this dataset's own).

        Raises ``DatasetError`` listing the labels missing from ``classes``, e.g. for a test
        file with a class the training file does not have.
        """
        if classes is None or list(classes) == self.classes:
            return self.codes.astype(np.int32, copy=False)
        return encode_labels(self.labels, list(classes), path=self.path)

    def summary(self) -> dict[str, Any]:
        """The facts ``inspect`` prints, as JSON-ready values."""
        return {
            "path": self.path,
            "rows": len(self),
            "shape": list(self.shape),
            "header": self.header,
            "label_column": self.label_column,
            "classes": list(self.classes),
            "class_counts": self.class_counts(),
            "fingerprint": self.fingerprint,
            "from_cache": self.from_cache,
        }


class _HashingReader:
    """A read-only stream wrapper feeding every byte read to the content hash."""

    def __init__(self, stream: BinaryIO, hasher: Any) -> None:
        self._stream = stream
        self.hasher = hasher

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.hasher.update(data)
        return data

    def readinto(self, buffer: memoryview) -> int:
        count = self._stream.readinto(buffer)  # type: ignore[attr-defined]
        self.hasher.update(buffer[:count])
        return count


class _MemorySink:
    """Rows collected in memory. ``estimate`` should be an upper bound: untouched pages of an
    over-sized ``np.empty`` are never committed, so only the decoded rows cost memory."""

    def __init__(self, row_bytes: int, estimate: int) -> None:
        self.array = np.empty((max(estimate, 1), row_bytes), np.uint8)
        self.rows = 0

    def target(self, line: int, lines: int) -> np.ndarray | None:
        """Rows a chunk starting at data line ``line`` may be decoded into (rows <= lines, so a
        chunk lands at or after its final place), or ``None`` beyond the estimate."""
        end = line + lines
        return self.array[line:end] if end <= len(self.array) else None

    def append(self, pixels: np.ndarray) -> None:
        end = self.rows + len(pixels)
        if end > len(self.array):
            grown = np.empty((max(end, 2 * len(self.array)), self.array.shape[1]), np.uint8)
            grown[: self.rows] = self.array[: self.rows]
            self.array = grown
        place = self.array[self.rows : end]
        if len(pixels) and place.ctypes.data != pixels.ctypes.data:
            place[...] = pixels  # not decoded in place (blank lines before it, or grown)
        self.rows = end


def load_dataset(
    path: str | os.PathLike[str],
    shape: tuple[int, int, int] | str | None = None,
    *,
    use_cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    threads: int | None = None,
    limits: ReadLimits | None = None,
) -> ImageDataset:
    """Parse and validate an image CSV (or ``.csv.gz``), or memory-map it from the cache.

    ``shape`` (``(H, W, C)`` or ``"HxWxC"``) overrides the shape inferred from the number of
    pixel values. With ``use_cache`` the first parse writes a cache entry in ``cache_dir``
    (default ``default_cache_dir()``) and later calls on the unchanged file open it without
    parsing. ``threads`` decode chunks in parallel (default: ``decode_threads()``, up to 4).
    ``limits`` (default ``ReadLimits.from_env()``) bound gzip expansion and cache writes.
    Only regular files are read. Raises ``DatasetError`` naming the file, line, what was found
    and what was expected.
    """
    name = os.fspath(path)
    wanted = parse_shape(shape)
    limits = limits or ReadLimits.from_env()
    stat = regular_file_stat(name)
    folder = Path(cache_dir) if cache_dir is not None else cache.default_cache_dir()
    if use_cache:
        fingerprint = cache.indexed_fingerprint(name, folder)
        entry = cache.open_entry(fingerprint, folder) if fingerprint else None
        if entry is not None:
            return _from_entry(name, entry, wanted)
    stream, gzipped = open_binary(name, limits)
    with stream:
        try:
            return _parse(
                name, stream, gzipped, stat, wanted, folder if use_cache else None, threads, limits
            )
        except OSError:
            # reading problems are DatasetErrors; an OSError here is the cache failing (disk
            # full, permissions): the entry was abandoned, so parse again into memory
            if not use_cache:
                raise
    stream, gzipped = open_binary(name, limits)
    with stream:
        return _parse(name, stream, gzipped, stat, wanted, None, threads, limits)


def _parse(
    name: str,
    raw: BinaryIO,
    gzipped: bool,
    stat: os.stat_result,
    shape: tuple[int, int, int] | None,
    cache_dir: Path | None,
    threads: int | None,
    limits: ReadLimits,
) -> ImageDataset:
    stream = _HashingReader(raw, cache.new_hasher())
    first, rest, bom, ending, number = read_first_line(stream, name)  # type: ignore[arg-type]
    layout = detect_layout(
        first,
        shape=shape,
        path=name,
        gzipped=gzipped,
        bom=bom,
        line_ending=ending,
        line_number=number,
    )
    if not layout.header:
        rest = first + b"\n" + rest
    writer = None
    if cache_dir is not None:
        try:
            writer = cache.EntryWriter(cache_dir, source=name, limits=limits)
        except OSError:
            writer = None  # an unwritable cache folder: parse into memory instead
    row_bytes = layout.pixel_count
    memory = None
    codes_in_memory: list[np.ndarray] = []
    if writer is None:
        estimate = stat.st_size * (8 if gzipped else 1) // (2 * layout.field_count) + 1
        memory = _MemorySink(row_bytes, estimate)
    if threads is None and stat.st_size < 8 * CHUNK_BYTES:
        threads = 1  # a small file: starting threads would cost more than they save
    if line_limit(layout.field_count) > parser.WIDE_LINE_BYTES:
        threads = 1  # very wide lines: one line (and its scratch arrays) in memory at a time
    labels = ParsedLabels(path=name)
    rows = 0
    try:
        target = memory.target if memory is not None else None
        decoded = iter_decoded(stream, rest, layout, name, threads=threads, target=target)  # type: ignore[arg-type]
        for pixels, chunk_labels in decoded:
            codes = labels.add(chunk_labels)
            if writer is not None:
                writer.append(pixels, codes)
            else:
                memory.append(pixels)  # type: ignore[union-attr]
                codes_in_memory.append(codes)
            rows += len(pixels)
        if rows == 0:
            what = "a header line but no data rows" if layout.header else "no data rows"
            raise DatasetError(
                f"found {what}; expected lines of a label and {layout.pixel_count} pixel values",
                path=name,
            )
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    fingerprint = stream.hasher.hexdigest()
    names = [decode_label(raw_label) for raw_label in labels.names]
    classes = class_order(names)
    position = {label: index for index, label in enumerate(classes)}
    remap = np.array([position[label] for label in names], dtype=np.uint16)
    counts = np.zeros(len(classes), np.int64)
    counts[remap] = labels.counts
    label_column = _label_column(layout)
    if writer is not None:
        meta = {
            "fingerprint": fingerprint,
            "source": os.path.abspath(name),
            "rows": rows,
            "pixel_count": layout.pixel_count,
            "shape": list(layout.shape),
            "header": layout.header,
            "label_column": label_column,
            "classes": classes,
            "class_counts": counts.tolist(),
            "gzip": gzipped,
            "line_ending": layout.line_ending,
        }
        entry = writer.commit(fingerprint, remap, meta)
        cache.record_fingerprint(name, stat, fingerprint, cache_dir)  # type: ignore[arg-type]
        return _from_entry(name, entry, shape, from_cache=False)
    images = memory.array[:rows].reshape(rows, *layout.shape)  # type: ignore[union-attr]
    all_codes = np.concatenate(codes_in_memory)
    del codes_in_memory[:]
    for start in range(0, rows, 1 << 20):  # in blocks: a whole-array take makes an intp copy
        block = all_codes[start : start + (1 << 20)]
        block[...] = remap[block]
    return ImageDataset(
        path=name,
        images=images,
        classes=classes,
        shape=layout.shape,
        header=layout.header,
        label_column=label_column,
        fingerprint=fingerprint,
        from_cache=False,
        codes=all_codes,
        counts=counts.tolist(),
    )


def _label_column(layout: CsvLayout) -> str | int:
    return layout.label_name if layout.label_name is not None else layout.label_column


def _from_entry(
    name: str,
    entry: cache.CacheEntry,
    shape: tuple[int, int, int] | None,
    *,
    from_cache: bool = True,
) -> ImageDataset:
    meta = entry.meta
    resolved = resolve_shape(int(meta["pixel_count"]), shape, name)
    if shape is None:
        resolved = tuple(meta["shape"])  # type: ignore[assignment]
    rows = int(meta["rows"])
    classes = list(meta["classes"])
    return ImageDataset(
        path=name,
        images=entry.pixels.reshape(rows, *resolved),
        classes=classes,
        shape=resolved,
        header=bool(meta["header"]),
        label_column=meta["label_column"],
        fingerprint=str(meta["fingerprint"]),
        from_cache=from_cache,
        codes=entry.codes,
        counts=meta.get("class_counts"),
    )
