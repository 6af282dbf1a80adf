"""Vectorized, validating parser for the lines of an image CSV.

The file is read in chunks of whole lines (``CHUNK_BYTES``, a bounded buffer that stays in the
CPU cache). Each chunk is decoded with NumPy over its bytes, never per value in Python:

1. whole-array passes over the bytes compute, for every byte, the value of the digit run that
   ends there (ones + 10 * tens + 100 * hundreds, each counted only if it is a digit of the
   same run) and flags: "this field is empty, ends in a non-digit or has 4+ digits" and "a
   newline follows";
2. one ``np.compress`` keeps the entries just before each separator: one code per field;
3. the counts must add up (``field_count`` separators a line, all of them commas except one
   newline at the end of each line), no byte above ``'9'`` may sit outside the labels, and
   every pixel code must be a clean value <= 255.

Scratch arrays are reused from chunk to chunk (``Workspace``), and chunks are decoded by a
small thread pool (NumPy releases the GIL) while the reading thread hashes the next ones.

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
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from flowerdash.data.csv_format import CsvLayout, read_block
from flowerdash.errors import DatasetError

#: Bytes of CSV decoded at a time (the bounded buffer; lines are never split across chunks).
CHUNK_BYTES = 512 * 1024

#: Longest label accepted, in bytes (a label is a class name, not a document).
LABEL_LIMIT = 1024

_PAD = 4  # newline bytes placed before a chunk so every field has 3 bytes before its separator
_HIGH_BYTES = bytes(range(58, 256))  # bytes above '9': allowed in labels only
_NEWLINE_FLAG = 1 << 13  # in a field's code: a newline follows the field (1 << 12: bad field)
_SPACES_AROUND_COMMA = re.compile(rb"[ \t]*,[ \t]*")
_CONTROL_BYTES = bytes(c for c in range(32) if c not in (9, 10, 13))


def line_limit(field_count: int) -> int:
    """The longest line accepted: room for every value quoted and spaced (``"255", ``), plus
    a label. Chunks hold at least one such line, so memory follows the image width."""
    return field_count * 8 + LABEL_LIMIT + 64


@dataclass
class ParsedLabels:
    """Labels as codes in first-seen order; ``names`` holds the raw label bytes of each code."""

    codes: list[np.ndarray] = field(default_factory=list)
    names: dict[bytes, int] = field(default_factory=dict)

    def add(self, labels: list[bytes]) -> None:
        table = self.names
        self.codes.append(
            np.fromiter((table.setdefault(lab, len(table)) for lab in labels), np.int32)
        )

    def all_codes(self) -> np.ndarray:
        return np.concatenate(self.codes) if self.codes else np.zeros(0, np.int32)


def iter_chunks(
    stream: BinaryIO,
    start: bytes,
    layout: CsvLayout,
    path: str | os.PathLike[str],
    *,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[tuple[bytes, int]]:
    """Yield ``(chunk, first_line_number)``: whole lines, LF-terminated, with ``\\r\\n`` (or a
    lone ``\\r`` in a CR-only file) turned into ``\\n``. ``start`` is data already read after the
    first line. Chunks hold at most ``max(chunk_bytes, line_limit + 1)`` bytes."""
    limit = line_limit(layout.field_count)
    size = max(chunk_bytes, limit + 1)
    cr_only = layout.line_ending == "\r"
    pending = _normalize_endings(start, cr_only)
    line_number = layout.first_data_line
    eof = False
    while True:
        while len(pending) < size and not eof:
            block = read_block(stream, size, path)
            eof = not block
            pending += _normalize_endings(block, cr_only)
        if not pending:
            return
        if eof and not pending.endswith(b"\n"):
            pending += b"\n"  # a missing final newline
        cut = pending.rfind(b"\n", 0, size)
        if cut < 0:  # no line break in `size` > limit bytes
            raise DatasetError(
                f"line longer than {limit} bytes without a line break; expected "
                f"{layout.field_count} comma-separated values a line",
                path=path,
                line=line_number,
            )
        chunk, pending = pending[: cut + 1], pending[cut + 1 :]
        yield chunk, line_number
        line_number += count_lines(chunk)


def decode_threads() -> int:
    """Worker threads decoding chunks (NumPy releases the GIL inside its loops): one per core
    this process may use, at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def iter_decoded(
    stream: BinaryIO,
    start: bytes,
    layout: CsvLayout,
    path: str | os.PathLike[str],
    *,
    chunk_bytes: int = CHUNK_BYTES,
    threads: int | None = None,
) -> Iterator[tuple[np.ndarray, list[bytes]]]:
    """Yield ``(pixels, labels)`` per chunk, in file order.

    Chunks are decoded by a small thread pool while this thread reads (and hashes) the next
    ones; at most ``2 * threads`` chunks are in flight, so memory stays bounded. The first
    ``DatasetError`` in file order is raised.
    """
    workers = threads or decode_threads()
    chunks = iter_chunks(stream, start, layout, path, chunk_bytes=chunk_bytes)
    if workers == 1:
        for chunk, line in chunks:
            yield decode_chunk(chunk, line, layout, path)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flowerdash-parse")
    window: deque[Future[tuple[np.ndarray, list[bytes]]]] = deque()
    try:
        for chunk, line in chunks:
            window.append(pool.submit(decode_chunk, chunk, line, layout, path))
            if len(window) >= 2 * workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def count_lines(data: bytes) -> int:
    """Number of ``\\n`` in ``data`` (NumPy: ``bytes.count`` of one byte is far slower)."""
    return int(np.count_nonzero(np.frombuffer(data, np.uint8) == 10))


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
        total = capacity + _PAD
        self.capacity = capacity
        self.buffer = np.empty(total, np.uint8)
        self.buffer[:_PAD] = 10
        self.digits = np.empty(total, np.uint8)
        self.is_digit = np.empty(total, np.bool_)
        self.wide = np.empty(total, np.uint16)
        self.separators = np.empty(capacity, np.bool_)
        self.newlines = np.empty(capacity, np.bool_)
        self.flags = np.empty(capacity, np.bool_)
        self.code = np.empty(capacity, np.uint16)
        self.scratch = np.empty(capacity, np.uint16)
        self.fields = np.empty(capacity // 2 + 1, np.uint16)

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
    chunk: bytes, first_line: int, layout: CsvLayout, path: str | os.PathLike[str]
) -> tuple[np.ndarray, list[bytes]]:
    """Decode whole lines into ``(pixels (L, P) uint8, labels)``; raise ``DatasetError`` at the
    first bad line."""
    column = layout.label_column
    if column in (0, layout.field_count - 1):
        fast = decode_fields(chunk, layout.field_count, column)
        if fast is not None:
            return fast
    return _decode_by_lines(chunk, first_line, layout, path)


def decode_fields(
    chunk: bytes, field_count: int, label_column: int | None
) -> tuple[np.ndarray, list[bytes]] | None:
    """Vectorized decode of LF-terminated lines of ``field_count`` fields.

    ``label_column`` is ``0``, ``field_count - 1`` or ``None`` (no label). Returns
    ``(pixels uint8 (L, P), labels)``, or ``None`` when any line breaks a rule; the caller then
    finds and reports the culprit.
    """
    pixel_count = field_count - (label_column is not None)
    size = len(chunk)
    total = size + _PAD
    work = _workspace(size)
    buffer = work.buffer[:total]
    body = buffer[_PAD:]
    body[:] = np.frombuffer(chunk, np.uint8)
    newline = np.equal(body, 10, out=work.newlines[:size])
    lines = np.count_nonzero(newline)
    if lines == 0:
        return np.zeros((0, pixel_count), np.uint8), []
    separators = np.less(body, 48, out=work.separators[:size])
    expected = lines * field_count
    if np.count_nonzero(separators) != expected:
        return None
    flags = work.flags[:size]
    if np.count_nonzero(np.equal(body, 44, out=flags)) != lines * (field_count - 1):
        return None  # a separator candidate that is neither a comma nor a newline
    # per byte i: the value of the digit run ending at i, plus flags, computed for all bytes at
    # once; code[j] describes byte j + 3 of ``buffer``, the byte before body[j]
    digits = np.subtract(buffer, np.uint8(48), out=work.digits[:total])
    is_digit = np.less(digits, 10, out=work.is_digit[:total])
    wide = np.multiply(digits, is_digit, out=work.wide[:total])  # digit values, 0 elsewhere
    code = np.multiply(wide[2 : total - 2], np.uint16(10), out=work.code[:size])
    code += wide[3 : total - 1]
    scratch = np.multiply(wide[1 : total - 3], is_digit[2 : total - 2], out=work.scratch[:size])
    scratch *= np.uint16(100)  # hundreds count only when the tens byte is a digit too
    code += scratch
    bad = np.logical_and(is_digit[2 : total - 2], is_digit[1 : total - 3], out=flags)
    bad &= is_digit[0 : total - 4]  # four digits or more
    # an empty field, or a non-digit before the separator (bad | ~digit, without a temporary)
    np.greater_equal(bad, is_digit[3 : total - 1], out=bad)
    marks = bad.view(np.uint8)
    marks += newline.view(np.uint8)
    marks += newline.view(np.uint8)  # bit 0: bad field, bit 1: a newline follows
    np.left_shift(marks, 12, out=scratch, dtype=np.uint16)
    code |= scratch
    fields = np.compress(separators, code, out=work.fields[:expected])
    fields = fields.reshape(lines, field_count)
    if not (fields[:, -1] & _NEWLINE_FLAG).all():
        return None  # a line with too few or too many fields
    fields[:, -1] &= np.uint16(_NEWLINE_FLAG - 1)
    labels: list[bytes] = []
    if label_column is None:
        if body.max() > 57:
            return None  # a letter or other byte above '9' among the pixel values
        pixels = fields
    else:
        labels = _labels(chunk, lines, label_column, body, work.flags[:size])
        if labels is None:
            return None
        pixels = fields[:, 1:] if label_column == 0 else fields[:, :-1]
    if pixels.max() > 255:  # a value over 255 or a flagged field
        return None
    return pixels.astype(np.uint8), labels


def _labels(
    chunk: bytes, lines: int, column: int, body: np.ndarray, scratch: np.ndarray
) -> list[bytes] | None:
    """The first or last field of each line (a validated chunk), or ``None`` if a label is
    empty or too long, or if a byte above ``'9'`` sits outside the labels (the count of such
    bytes in the chunk must equal their count in the labels)."""
    labels = []
    position = 0
    find = chunk.find
    for _ in range(lines):
        newline = find(b"\n", position)
        if column == 0:
            end = find(b",", position)
            start = position
        else:
            end = newline
            start = chunk.rfind(b",", position, newline) + 1
        if end - start < 1 or end - start > LABEL_LIMIT:
            return None
        labels.append(chunk[start:end])
        position = newline + 1
    high = np.count_nonzero(np.greater(body, 57, out=scratch))
    if high:
        in_labels = sum(len(label) - len(label.translate(None, _HIGH_BYTES)) for label in labels)
        if in_labels != high:
            return None
    return labels


def _decode_by_lines(
    chunk: bytes, first_line: int, layout: CsvLayout, path: str | os.PathLike[str]
) -> tuple[np.ndarray, list[bytes]]:
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
        return np.zeros((0, fields - 1), np.uint8), []
    decoded = decode_fields(b"\n".join(pixel_lines) + b"\n", fields - 1, None)
    if decoded is not None:
        return decoded[0], labels
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
