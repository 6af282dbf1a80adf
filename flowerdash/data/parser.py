"""Vectorized, validating parser for the lines of an image CSV.

The file is read in chunks of whole lines (``CHUNK_BYTES``, a bounded buffer). Each chunk is
decoded with NumPy over its bytes, never per value in Python:

1. every byte below ``'0'`` is a separator candidate: their positions are found at once;
2. a 4-byte window ending at each separator (read through an unaligned ``uint32`` view) holds
   the field's last three bytes and the separator itself, so one gather yields every field;
3. the separators must be commas, with a newline after exactly ``field_count`` fields per line;
   every pixel field must be 1 to 3 digits (a byte count identity proves it) and at most 255.

A chunk that fails any check, or that holds something the fast path does not handle (quotes,
spaces, blank lines, a label with a dash or a space...), is decoded line by line: each line is
tidied (the lenient cases in data/README.md), its label split off, and the pixel part decoded
by the same vectorized code. If that fails too, the lines are checked one at a time to report
the first bad one: its 1-based line number, what was found and what was expected.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from flowerdash.data.csv_format import CsvLayout, read_block
from flowerdash.errors import DatasetError

#: Bytes of CSV decoded at a time (the bounded buffer; lines are never split across chunks).
CHUNK_BYTES = 16 * 1024 * 1024

#: Longest label accepted, in bytes (a label is a class name, not a document).
LABEL_LIMIT = 1024

_PAD = 4  # newline bytes placed before a chunk so every field has 3 bytes before its separator
_SPACES_AROUND_COMMA = re.compile(rb"[ \t]*,[ \t]*")
_CONTROL_BYTES = bytes(c for c in range(32) if c not in (9, 10, 13))


def line_limit(field_count: int) -> int:
    """The longest line accepted: every value padded with quotes and spaces, plus a label."""
    return field_count * 12 + LABEL_LIMIT + 64


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
    on_bytes: Callable[[bytes], None] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[tuple[bytes, int]]:
    """Yield ``(chunk, first_line_number)``: whole lines, LF-terminated, with ``\\r\\n`` (or a
    lone ``\\r`` in a CR-only file) turned into ``\\n``. ``start`` is data already read after the
    first line; ``on_bytes`` sees every further raw block (for hashing)."""
    limit = line_limit(layout.field_count)
    size = max(chunk_bytes, 2 * limit)
    cr_only = layout.line_ending == "\r"
    pending = _normalize_endings(start, cr_only)
    line_number = layout.first_data_line
    eof = False
    while not eof:
        block = read_block(stream, size, path)
        if on_bytes is not None and block:
            on_bytes(block)
        eof = not block
        data = pending + _normalize_endings(block, cr_only) if block else pending
        if data.endswith(b"\r") and not eof:
            cut = data.rfind(b"\n", 0, len(data) - 1)  # a CRLF split across blocks
        else:
            cut = data.rfind(b"\n")
        if eof:
            if data and not data.endswith(b"\n"):
                data += b"\n"  # a missing final newline
            cut = len(data) - 1
        if cut < 0:
            if len(data) > limit:
                raise DatasetError(
                    f"line longer than {limit} bytes without a line break; expected "
                    f"{layout.field_count} comma-separated values a line",
                    path=path,
                    line=line_number,
                )
            pending = data
            continue
        chunk, pending = data[: cut + 1], data[cut + 1 :]
        if len(pending) > limit:
            raise DatasetError(
                f"line longer than {limit} bytes without a line break; expected "
                f"{layout.field_count} comma-separated values a line",
                path=path,
                line=line_number + chunk.count(b"\n"),
            )
        if chunk:
            yield chunk, line_number
            line_number += chunk.count(b"\n")


def _normalize_endings(data: bytes, cr_only: bool) -> bytes:
    if b"\r" not in data:
        return data
    if cr_only:
        return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return data.replace(b"\r\n", b"\n")


def decode_chunk(
    chunk: bytes, first_line: int, layout: CsvLayout, path: str | os.PathLike[str]
) -> tuple[np.ndarray, list[bytes]]:
    """Decode whole lines into ``(pixels (L, P) uint8, labels)``; raise ``DatasetError`` at the
    first bad line."""
    fast = decode_fields(chunk, layout.field_count, layout.label_column)
    if fast is not None:
        return fast
    return _decode_by_lines(chunk, first_line, layout, path)


def decode_fields(
    chunk: bytes, field_count: int, label_column: int | None
) -> tuple[np.ndarray, list[bytes]] | None:
    """Vectorized decode of LF-terminated lines of ``field_count`` fields.

    Returns ``(pixels, labels)`` (``labels`` empty when ``label_column`` is ``None``), or
    ``None`` when any line breaks a rule; the caller then finds and reports the culprit.
    """
    lines = chunk.count(b"\n")
    if lines == 0:
        return np.zeros((0, field_count - (label_column is not None)), np.uint8), []
    buffer = np.empty(len(chunk) + _PAD, np.uint8)
    buffer[:_PAD] = 10
    body = buffer[_PAD:]
    body[:] = np.frombuffer(chunk, np.uint8)
    separators = np.flatnonzero(body < 48)
    if separators.size != lines * field_count:
        return None
    separators += _PAD
    # a uint32 read at every byte offset: window[i] holds bytes i..i+3 (little-endian)
    window = np.ndarray((buffer.size - 3,), dtype="<u4", buffer=buffer.data, strides=(1,))
    fields = window[separators - 3].view(np.uint8).reshape(lines, field_count, 4)
    if not (fields[:, :-1, 3] == 44).all() or not (fields[:, -1, 3] == 10).all():
        return None
    labels: list[bytes] = []
    label_bytes = 0
    if label_column is not None:
        ends = separators.reshape(lines, field_count)[:, label_column]
        if label_column > 0:
            starts = separators.reshape(lines, field_count)[:, label_column - 1] + 1
        else:
            starts = np.empty_like(ends)
            starts[0] = _PAD
            starts[1:] = separators.reshape(lines, field_count)[:-1, -1] + 1
        lengths = ends - starts
        if lengths.min() < 1 or lengths.max() > LABEL_LIMIT:
            return None
        label_bytes = int(lengths.sum()) + lines
        offsets = (starts - _PAD).tolist()
        labels = [chunk[s : s + n] for s, n in zip(offsets, lengths.tolist(), strict=True)]
        fields = _without_column(fields, label_column)
        high = np.flatnonzero(body > 57)
        if high.size and not _inside_labels(high + _PAD, starts, ends):
            return None
    elif body.max() > 57:
        return None
    ones = fields[..., 2] - np.uint8(48)
    if ones.max() > 9:  # the byte before a separator is not a digit: an empty field
        return None
    tens = fields[..., 1] - np.uint8(48)
    hundreds = fields[..., 0] - np.uint8(48)
    has_tens = tens <= 9
    has_hundreds = hundreds <= 9
    has_hundreds &= has_tens
    # every field is 1 + has_tens + has_hundreds digits long unless it has more than 3: the
    # lengths then add up to less than the chunk's size
    pixel_fields = ones.size
    counted = 2 * pixel_fields + np.count_nonzero(has_tens) + np.count_nonzero(has_hundreds)
    if counted + label_bytes != len(chunk):
        return None
    values = ones.astype(np.uint16)
    tens = tens.astype(np.uint16)
    tens *= has_tens
    tens *= 10
    values += tens
    hundreds = hundreds.astype(np.uint16)
    hundreds *= has_hundreds
    hundreds *= 100
    values += hundreds
    if values.max() > 255:
        return None
    return values.astype(np.uint8), labels


def _without_column(fields: np.ndarray, column: int) -> np.ndarray:
    if column == 0:
        return fields[:, 1:]
    if column == fields.shape[1] - 1:
        return fields[:, :-1]
    return np.delete(fields, column, axis=1)


def _inside_labels(positions: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> bool:
    """Whether every position lies in some line's label field (``starts``/``ends`` sorted)."""
    line = np.searchsorted(ends, positions)
    if line.max() >= ends.size:
        return False
    return bool(((positions >= starts[line]) & (positions < ends[line])).all())


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
