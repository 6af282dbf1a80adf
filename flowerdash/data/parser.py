"""Vectorized, validating parser for the lines of an image CSV.

The file is read in chunks of whole lines (``CHUNK_BYTES``, a bounded buffer that stays in the
CPU cache). Each chunk is decoded with NumPy over its bytes, never per value in Python:

1. one pass marks the separators (bytes below ``'0'``) and ``np.flatnonzero`` lists them; the
   counts must add up (``field_count`` separators a line, all of them commas except one
   newline at the end of each line);
2. the distances between separators give each field's length (1-3 for a pixel), ``np.take``
   gathers the 3 bytes before each separator (3 small arrays, one entry per field), and a few
   passes over those check that every byte of a pixel field is a digit and compute its value,
   which must be <= 255 (labels are cut out of the line at the separators).

The file is read straight into a ring of reused chunk buffers (``readinto``: only the partial
line at a chunk's end is copied), scratch arrays are reused from chunk to chunk
(``Workspace``), and chunks are decoded by a small thread pool (NumPy releases the GIL) while
the reading thread reads and hashes the next ones; the workers write the pixels straight into
the rows of the result when the caller offers them (``iter_decoded(target=...)``).

A chunk that fails any check, or that holds something the fast path does not handle (quotes,
spaces, blank lines, a label with a dash or a space, a label column in the middle...), is
decoded line by line: each line is tidied (the lenient cases in data/README.md), its label
split off, and the pixel part decoded by the same vectorized code. If that fails too, the
lines are checked one at a time to report the first bad one: its 1-based line number, what
was found and what was expected.
"""

from __future__ import annotations

import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from flowerdash.data.csv_format import CsvLayout, read_into
from flowerdash.errors import DatasetError

#: Bytes of CSV decoded at a time (the bounded buffer; lines are never split across chunks).
CHUNK_BYTES = 512 * 1024

#: Lines that may be longer than this (``line_limit``; over a million values, e.g. 600x600
#: RGB) are read one a chunk and decoded in pieces of ``CHUNK_BYTES``, single-threaded, so
#: memory follows one line; narrower lines keep the faster whole-chunk decoding.
WIDE_LINE_BYTES = 16 * CHUNK_BYTES

#: Longest label accepted, in bytes (a label is a class name, not a document).
LABEL_LIMIT = 1024

_PAD = 4  # newline bytes placed before a chunk: every separator has 4 bytes before it
_SPACES_AROUND_COMMA = re.compile(rb"[ \t]*,[ \t]*")
_CONTROL_BYTES = bytes(c for c in range(32) if c not in (9, 10, 13))


def line_limit(field_count: int) -> int:
    """The longest line accepted: room for every value quoted and spaced (``"255", ``), plus
    a label. Chunks hold at least one such line, so memory follows the image width."""
    return field_count * 8 + LABEL_LIMIT + 64


#: Most distinct labels a file may hold (codes are uint16; a dataset has classes, not IDs).
MAX_CLASSES = 65535


@dataclass(frozen=True)
class ChunkLabels:
    """The labels of a chunk's rows: ``names`` the distinct label bytes, ``index`` each row's
    position in ``names`` (no Python object per row)."""

    names: list[bytes]
    index: np.ndarray

    @classmethod
    def from_list(cls, labels: list[bytes]) -> ChunkLabels:
        table: dict[bytes, int] = {}
        index = np.fromiter((table.setdefault(lab, len(table)) for lab in labels), np.intp)
        return cls(list(table), index)

    def __len__(self) -> int:
        return len(self.index)

    def rows(self) -> list[bytes]:
        """One label per row (tests and small chunks)."""
        return [self.names[i] for i in self.index.tolist()]


@dataclass
class ParsedLabels:
    """Labels seen so far: ``names`` maps label bytes to codes in first-seen order, ``counts``
    rows per code. ``add`` turns a chunk's labels into uint16 codes; the caller keeps them
    (in memory, or in the cache file), so nothing here grows with the rows."""

    path: str | os.PathLike[str] | None = None
    names: dict[bytes, int] = field(default_factory=dict)
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def add(self, labels: ChunkLabels, first_line: int | None = None) -> np.ndarray:
        """The uint16 code of each row of the chunk. Raises DatasetError past MAX_CLASSES."""
        table = self.names
        lookup = np.fromiter((table.setdefault(name, len(table)) for name in labels.names), np.intp)
        if len(table) > MAX_CLASSES:
            raise DatasetError(
                f"more than {MAX_CLASSES:,} distinct labels; expected class names (is the label "
                "column the right one?)",
                path=self.path,
                line=first_line,
            )
        if len(self.counts) < len(table):
            self.counts = np.concatenate(
                [self.counts, np.zeros(len(table) - len(self.counts), np.int64)]
            )
        if len(lookup):
            np.add.at(self.counts, lookup, np.bincount(labels.index, minlength=len(lookup)))
        return lookup.astype(np.uint16)[labels.index]


_NO_LABELS = ChunkLabels([], np.zeros(0, np.intp))


def iter_chunks(
    stream: BinaryIO,
    start: bytes,
    layout: CsvLayout,
    path: str | os.PathLike[str],
    *,
    chunk_bytes: int = CHUNK_BYTES,
    buffers: int = 1,
) -> Iterator[tuple[np.ndarray, int, int]]:
    """Yield ``(chunk, first_line_number, line_count)``: ``chunk`` is a uint8 array of ``_PAD``
    newline bytes followed by whole lines, LF-terminated, with ``\\r\\n`` (or a lone ``\\r`` in a
    CR-only file) turned into ``\\n``. ``start`` is data already read after the first line.
    Chunks hold at most ``max(chunk_bytes, line_limit + 1)`` bytes of lines.

    The stream is read straight into a ring of ``buffers`` reused buffers (no copies but the
    partial line carried to the next chunk), so a chunk stays valid only until ``buffers``
    more chunks have been yielded.
    """
    limit = line_limit(layout.field_count)
    size = max(chunk_bytes, limit + 1)
    one_line = limit > WIDE_LINE_BYTES
    cr_only = layout.line_ending == "\r"
    pending = _normalize_endings(start, cr_only)  # data read but not yet in a chunk
    line_number = layout.first_data_line
    ring: list[bytearray] = []
    turn = 0
    eof = False
    while True:
        if len(ring) < buffers:
            ring.append(bytearray(b"\n" * _PAD + bytes(size)))
        buffer = ring[turn % buffers]
        turn += 1
        view = memoryview(buffer)
        end = _PAD + min(len(pending), size)
        view[_PAD:end] = pending[: end - _PAD]
        pending = pending[end - _PAD :]
        while end < _PAD + size and not pending and not eof:
            got = read_into(stream, view[end:], path)
            if not got:
                eof = True
            elif buffer.find(b"\r", end, end + got) >= 0:
                block = _normalize_endings(bytes(view[end : end + got]), cr_only)
                view[end : end + len(block)] = block
                end += len(block)
            else:
                end += got
        view.release()
        if end == _PAD:
            return
        if eof and not pending and buffer[end - 1] != 10:  # a missing final newline
            if end < len(buffer):
                buffer[end] = 10
                end += 1
            else:
                pending = b"\n"
        # very wide lines (WIDE_LINE_BYTES): one line a chunk, decoded in pieces, so that
        # memory follows one line, not the two or three a buffer of `limit` bytes may hold
        cut = (buffer.find if one_line else buffer.rfind)(b"\n", _PAD, end)
        if cut < 0:  # no line break in `size` > limit bytes
            raise DatasetError(
                f"line longer than {limit} bytes without a line break; expected "
                f"{layout.field_count} comma-separated values a line",
                path=path,
                line=line_number,
            )
        if cut + 1 < end:
            pending = bytes(buffer[cut + 1 : end]) + pending
        chunk = np.frombuffer(buffer, np.uint8, count=cut + 1)
        lines = _count_newlines(buffer, chunk, cut + 1)
        yield chunk, line_number, lines
        line_number += lines


def decode_threads() -> int:
    """Worker threads decoding chunks (NumPy releases the GIL inside its loops): one per core
    this process may use plus one, at most 4, since the reading thread spends much of its time
    in the kernel or in the GIL-free hash (measured on 2 cores: 3 workers ~15% faster than 2);
    a single core decodes in the reading thread."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return 1 if cores <= 1 else min(4, cores + 1)


def iter_decoded(
    stream: BinaryIO,
    start: bytes,
    layout: CsvLayout,
    path: str | os.PathLike[str],
    *,
    chunk_bytes: int = CHUNK_BYTES,
    threads: int | None = None,
    target: Callable[[int, int], np.ndarray | None] | None = None,
) -> Iterator[tuple[np.ndarray, ChunkLabels]]:
    """Yield ``(pixels, labels)`` per chunk, in file order.

    Chunks are decoded by a small thread pool while this thread reads (and hashes) the next
    ones; at most ``3 * threads`` chunks are in flight, so memory stays bounded. The first
    ``DatasetError`` in file order is raised.

    ``target(line_index, lines)``, called in this thread, may return an array of ``lines`` rows
    for the chunk whose first line is data line ``line_index`` (0-based, blank lines counted):
    the chunk's pixels are then decoded straight into its first rows (one copy fewer, made by
    the worker), and the ``pixels`` yielded are a view of them.
    """
    workers = threads or decode_threads()
    buffers = 1 if workers == 1 else 3 * workers + 1  # chunks in flight, plus one filling
    chunks = iter_chunks(stream, start, layout, path, chunk_bytes=chunk_bytes, buffers=buffers)
    first = layout.first_data_line

    def destination(line: int, lines: int) -> np.ndarray | None:
        return None if target is None else target(line - first, lines)

    if workers == 1:
        for chunk, line, lines in chunks:
            yield decode_chunk(chunk, line, layout, path, destination(line, lines))
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flowerdash-parse")
    window: deque[Future[tuple[np.ndarray, ChunkLabels]]] = deque()
    try:
        for chunk, line, lines in chunks:
            out = destination(line, lines)
            window.append(pool.submit(decode_chunk, chunk, line, layout, path, out))
            if len(window) >= 3 * workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _count_newlines(buffer: bytearray, chunk: np.ndarray, end: int) -> int:
    """Line breaks in ``buffer[_PAD:end]`` (``chunk`` is the same bytes): a few ``find`` calls
    when lines are long (memchr, no pass over the whole chunk), else ``count_lines``."""
    position = _PAD - 1
    find = buffer.find
    for count in range(16):
        position = find(b"\n", position + 1, end)
        if position < 0:
            return count
    return count_lines(chunk[_PAD:])


def count_lines(data: np.ndarray) -> int:
    """Number of ``\\n`` in the uint8 array ``data`` (NumPy: ``bytes.count`` of one byte is far
    slower)."""
    return int(np.count_nonzero(data == 10))


def _normalize_endings(data: bytes, cr_only: bool) -> bytes:
    if b"\r" not in data:
        return data
    if cr_only:
        return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return data.replace(b"\r\n", b"\n")


class Workspace:
    """Scratch arrays reused from chunk to chunk (one per thread).

    Reusing them matters: fresh multi-megabyte arrays cost a page fault per 4 KiB on first
    touch, which was slower than the arithmetic itself.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = 0
        self._grow(capacity)

    def _grow(self, capacity: int) -> None:
        self.capacity = capacity
        self.buffer = np.empty(capacity + _PAD, np.uint8)
        self.buffer[:_PAD] = 10
        self.separators = np.empty(capacity, np.bool_)
        fields = capacity // 2 + 1  # a valid chunk has at least 2 bytes a field
        self.window = np.empty((3, fields), np.uint8)  # the 3 bytes before each separator
        self.spans = np.empty(fields, np.int32)  # distance from the previous separator
        self.marks = np.empty((3, fields), np.bool_)

    def ensure(self, size: int) -> None:
        if size > self.capacity:
            self._grow(size + size // 4)


_workspaces = threading.local()


def _workspace(size: int) -> Workspace:
    workspace = getattr(_workspaces, "workspace", None)
    if workspace is None:
        workspace = _workspaces.workspace = Workspace(max(size, CHUNK_BYTES))
    workspace.ensure(size)
    return workspace


def decode_chunk(
    chunk: np.ndarray,
    first_line: int,
    layout: CsvLayout,
    path: str | os.PathLike[str],
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, ChunkLabels]:
    """Decode a chunk from ``iter_chunks`` into ``(pixels (L, P) uint8, labels)``; raise
    ``DatasetError`` at the first bad line. With ``out`` (at least one row a line of the
    chunk), the pixels are its first rows."""
    column = layout.label_column
    if column in (0, layout.field_count - 1):
        if line_limit(layout.field_count) > WIDE_LINE_BYTES:
            fast = _decode_wide_line(chunk, layout, out)
        else:
            fast = decode_fields(chunk, layout.field_count, column, out)
        if fast is not None:
            return fast
    pixels, labels = _decode_by_lines(chunk[_PAD:].tobytes(), first_line, layout, path)
    if out is not None and len(pixels) <= len(out):
        out[: len(pixels)] = pixels
        pixels = out[: len(pixels)]
    return pixels, labels


def _decode_wide_line(
    chunk: np.ndarray, layout: CsvLayout, out: np.ndarray | None
) -> tuple[np.ndarray, ChunkLabels] | None:
    """Decode a chunk holding one very wide line (``WIDE_LINE_BYTES``: ``iter_chunks`` gives
    such lines one a chunk) in pieces of about ``CHUNK_BYTES`` cut at commas, so that the scratch
    arrays follow a piece, not the line (a 2000x2000 RGB line has 12 million values). Returns
    ``None`` for anything the fast path does not take; the line-by-line path then decides."""
    body = chunk[_PAD:]
    size = len(body)
    if size < 4 or body[-1] != 10:
        return None
    if layout.label_column == 0:
        head = body[: LABEL_LIMIT + 2].tobytes()
        cut = head.find(b",")
        label, start, stop = head[:cut], cut + 1, size - 1
    else:
        tail = body[max(0, size - LABEL_LIMIT - 3) : size - 1].tobytes()
        cut = tail.rfind(b",")
        label = tail[cut + 1 :]
        start, stop = 0, size - 2 - len(label)
    if cut < 0 or not label or min(label) < 48 or stop <= start:
        return None  # no label, or one with spaces, quotes, dashes...: the general path
    pixel_count = layout.pixel_count
    row = out[0] if out is not None and len(out) else np.empty(pixel_count, np.uint8)
    done = 0
    while start < stop:
        piece = body[start : min(stop, start + CHUNK_BYTES)].tobytes()
        if start + len(piece) < stop:
            cut = piece.rfind(b",")
            if cut <= 0:
                return None
            piece, start = piece[:cut], start + cut + 1
        else:
            start = stop
        count = piece.count(b",") + 1
        if done + count > pixel_count or b"\n" in piece:
            return None
        place = row[done : done + count].reshape(1, count)
        if decode_fields(padded(piece + b"\n"), count, None, place) is None:
            return None
        done += count
    if done != pixel_count:
        return None
    pixels = out[:1] if out is not None and len(out) else row.reshape(1, pixel_count)
    return pixels, ChunkLabels([label], np.zeros(1, np.intp))


def padded(data: bytes) -> np.ndarray:
    """``data`` after ``_PAD`` newline bytes, as ``decode_fields`` takes it (in this thread's
    scratch buffer: valid until the next call)."""
    work = _workspace(len(data))
    buffer = work.buffer[: _PAD + len(data)]
    buffer[_PAD:] = np.frombuffer(data, np.uint8)
    return buffer


def decode_fields(
    chunk: np.ndarray, field_count: int, label_column: int | None, out: np.ndarray | None = None
) -> tuple[np.ndarray, ChunkLabels] | None:
    """Vectorized decode of LF-terminated lines of ``field_count`` fields; ``chunk`` is a uint8
    array of ``_PAD`` newline bytes, then the lines (``iter_chunks``, ``padded``).

    ``label_column`` is ``0``, ``field_count - 1`` or ``None`` (no label). Returns
    ``(pixels uint8 (L, P), labels)``, or ``None`` when any line breaks a rule; the caller then
    finds and reports the culprit. The pixels go to the first rows of ``out`` if it has enough
    rows.
    """
    pixel_count = field_count - (label_column is not None)
    size = len(chunk) - _PAD
    if size == 0:
        return np.zeros((0, pixel_count), np.uint8), _NO_LABELS
    work = _workspace(size)
    buffer = chunk
    body = buffer[_PAD:]
    if body[-1] != 10:
        return None
    # every byte below '0' is a separator; a valid chunk has only commas and newlines there
    ends = np.flatnonzero(np.less(body, 48, out=work.separators[:size]))
    count = len(ends)
    lines = count // field_count
    if count != lines * field_count or count > size // 2:
        return None
    grid = ends.reshape(lines, field_count)
    if (body[grid[:, -1]] != 10).any():
        return None  # a line with too few or too many fields
    commas = np.count_nonzero(np.equal(body, 44, out=work.separators[:size]))
    if commas != lines * (field_count - 1):
        return None  # a separator candidate that is neither a comma nor a newline
    labels = _NO_LABELS
    if label_column is not None:
        found = _labels(body, grid, label_column)
        if found is None:
            return None
        labels = found
    # each field's length + 1 (distance from the separator before it; the first one's is at -1)
    spans = work.spans[:count]
    spans[0] = ends[0] + 1
    np.subtract(ends[1:], ends[:-1], out=spans[1:], casting="unsafe")  # int32: < 2**31
    # the 3 bytes before each separator, minus '0' (a digit becomes 0-9, any other byte of a
    # field 10-207: fields hold no byte below '0'); only those inside the field count
    window = work.window[:, :count]
    for back in range(3):
        np.take(buffer[_PAD - 1 - back : _PAD - 1 - back + size], ends, out=window[back])
    window -= np.uint8(48)
    if label_column is not None:  # a label field reads as the clean value "0"
        spans.reshape(lines, field_count)[:, label_column] = 2
        window.reshape(3, lines, field_count)[0, :, label_column] = 0
    if spans.min() < 2 or spans.max() > 4:
        return None  # an empty field, or four characters or more
    ones, tens, hundreds = window
    if ones.max() > 9:
        return None  # a non-digit before the separator
    has_tens, has_hundreds, scratch = work.marks[:, :count]
    tens *= np.greater_equal(spans, 3, out=has_tens).view(np.uint8)
    hundreds *= np.greater_equal(spans, 4, out=has_hundreds).view(np.uint8)
    if tens.max() > 9 or hundreds.max() > 2:
        return None  # a non-digit inside a field, or a value of 300 or more
    tens *= np.uint8(10)
    ones += tens  # at most 99
    hundreds *= np.uint8(100)
    ones += hundreds  # wraps around (below the hundreds) for 256-299
    if np.less(ones, hundreds, out=scratch).any():
        return None  # a value over 255
    values = ones.reshape(lines, field_count)
    if label_column == 0:
        values = values[:, 1:]
    elif label_column is not None:
        values = values[:, :-1]
    if out is not None and len(out) >= lines:
        out = out[:lines]
        np.copyto(out, values)
        return out, labels
    return np.array(values, order="C"), labels


def _labels(body: np.ndarray, grid: np.ndarray, column: int) -> ChunkLabels | None:
    """The first or last field of each line of a chunk whose separators (``grid``, positions
    of each line's ``field_count`` separators) are in place, or ``None`` if a label is empty or
    too long. Labels are compared as fixed-width byte strings (``np.unique``), so a chunk of
    many short lines costs no Python object per line."""
    if grid.shape[1] < 2:
        return None
    if column == 0:
        stops = grid[:, 0]
        starts = np.empty_like(stops)
        starts[0] = 0
        starts[1:] = grid[:-1, -1] + 1
    else:
        stops = grid[:, -1]
        starts = grid[:, -2] + 1
    lengths = stops - starts
    width = int(lengths.max())
    if lengths.min() < 1 or width > LABEL_LIMIT:
        return None
    if len(lengths) * width > len(body):  # a few long labels among short lines: one by one
        return ChunkLabels.from_list(
            [
                body[start:stop].tobytes()
                for start, stop in zip(starts.tolist(), stops.tolist(), strict=True)
            ]
        )
    offsets = np.arange(width)
    cells = body[np.minimum(starts[:, None] + offsets, len(body) - 1)]
    if int(lengths.min()) != width:
        cells[offsets >= lengths[:, None]] = 0  # NUL padding: a label never holds a NUL
    keys = cells.view(f"S{width}").reshape(-1)
    names, index = np.unique(keys, return_inverse=True)
    return ChunkLabels(names.tolist(), index.reshape(-1))


def _decode_by_lines(
    chunk: bytes, first_line: int, layout: CsvLayout, path: str | os.PathLike[str]
) -> tuple[np.ndarray, ChunkLabels]:
    """Decode a chunk the fast path refused: tidy each line, split off its label, decode the
    pixels vectorized; on failure report the first bad line."""
    column = layout.label_column
    fields = layout.field_count
    pixel_lines: list[bytes] = []
    labels: list[bytes] = []
    numbers: list[int] = []
    for offset, raw in enumerate(chunk.split(b"\n")[:-1]):
        number = first_line + offset
        line = tidy_line(raw, fields)
        if not line:
            continue  # a blank line
        problem = _label_problem(line, fields, column)
        if problem:
            raise DatasetError(problem, path=path, line=number)
        label, pixels = split_label(line, column)
        labels.append(label.strip().strip(b'"').strip())
        pixel_lines.append(pixels)
        numbers.append(number)
    if not pixel_lines:
        return np.zeros((0, fields - 1), np.uint8), _NO_LABELS
    decoded = decode_fields(padded(b"\n".join(pixel_lines) + b"\n"), fields - 1, None)
    if decoded is not None:
        return decoded[0], ChunkLabels.from_list(labels)
    for number, pixels in zip(numbers, pixel_lines, strict=True):
        problem = pixel_problem(pixels, column)
        if problem:
            raise DatasetError(problem, path=path, line=number)
    raise DatasetError(  # pragma: no cover - the checks above mirror decode_fields
        "could not be decoded; expected integer pixel values 0-255", path=path, line=numbers[0]
    )


def tidy_line(raw: bytes, field_count: int) -> bytes:
    """Apply the lenient rules to one line: stray ``\\r`` at the end, double quotes, spaces or
    tabs around commas and at the ends, and one trailing comma are removed. A blank line
    becomes ``b""``."""
    line = raw.rstrip(b"\r")
    if b'"' in line:
        line = line.replace(b'"', b"")
    if b" " in line or b"\t" in line:
        line = _SPACES_AROUND_COMMA.sub(b",", line).strip(b" \t")
    if line.endswith(b",") and line.count(b",") == field_count:
        line = line[:-1]
    return line


def split_label(line: bytes, column: int) -> tuple[bytes, bytes]:
    """Return ``(label, pixel part)`` of a tidied line whose label is field ``column``."""
    if column == 0:
        label, _, pixels = line.partition(b",")
        return label, pixels
    before = line.split(b",", column)
    label, _, after = before[-1].partition(b",")
    head = b",".join(before[:-1])
    return label, (head + b"," + after if after else head)


def _label_problem(line: bytes, fields: int, column: int) -> str | None:
    """Problems a line's structure or label can have (pixels are checked by the decoder)."""
    if any(c in line for c in _CONTROL_BYTES):
        first = next(c for c in line if c < 32 and c not in (9, 13))
        return (
            f"found binary data (byte 0x{first:02x}); expected a text line of a label and "
            "pixel values (is this an image or an archive renamed .csv?)"
        )
    count = line.count(b",") + 1
    if count != fields:
        return (
            f"found {count} values; expected {fields} (a label and {fields - 1} pixel values, "
            "as on the first line)"
        )
    label, _ = split_label(line, column)
    label = label.strip()
    if not label:
        return f"empty label in column {column + 1}; expected a class name or number"
    if len(label) > LABEL_LIMIT:
        return f"label in column {column + 1} is {len(label)} bytes long; expected a class name"
    return None


def pixel_problem(pixels: bytes, label_column: int) -> str | None:
    """Describe the first bad value in the pixel part of a tidied line, or ``None``."""
    for index, token in enumerate(pixels.split(b",")):
        column = index + 2 if index >= label_column else index + 1  # 1-based, in the file
        where = f"column {column}"
        if token == b"":
            return f"empty value in {where}; expected an integer 0-255"
        if token.isdigit():
            if len(token) > 3 or int(token) > 255:
                return f"found {_quote(token)} in {where}; expected an integer 0-255"
            continue
        text = _quote(token)
        if token.startswith(b"-") and token[1:].isdigit():
            return f"found negative value {text} in {where}; expected an integer 0-255"
        if re.fullmatch(rb"-?\d*\.\d*([eE][-+]?\d+)?", token) and token not in (b".", b"-."):
            return f"found fractional value {text} in {where}; expected an integer 0-255"
        return f"found {text} in {where}; expected an integer 0-255"
    return None


def _quote(token: bytes, limit: int = 24) -> str:
    text = token.decode("utf-8", errors="backslashreplace")
    if len(text) > limit:
        text = text[:limit] + "..."
    return repr(text)
