"""The image-CSV format: opening a file, recognising what it is, and reading its first line.

One image per line: a label and H*W*C integer pixel values 0-255 (row-major HWC). This module
decides, from the file's first bytes and first line, everything the parser needs: compression,
line endings, header, label column and image shape. It refuses files that are not image CSVs
(empty, Git LFS pointers, images or archives renamed .csv, binary data) with a message saying so.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import math
import operator
import os
import re
import stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from flowerdash.data.limits import (
    GZIP_RATIO_ENV,
    GZIP_SIZE_ENV,
    ReadLimits,
    format_size,
)
from flowerdash.errors import DatasetError, ImageShapeError

#: Header names that mark the label column (compared case-insensitively).
LABEL_COLUMN_NAMES = ("label", "class", "target")

#: The longest first line read while detecting the layout (a 2300x2300 RGB image fits).
FIRST_LINE_LIMIT = 64 * 1024 * 1024

_LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
_BINARY_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (unzip it first)"),
    (b"\x93NUMPY", "a NumPy .npy file"),
    (b"%PDF", "a PDF document"),
    (b"\xfd7zXZ\x00", "an XZ archive (decompress it first)"),
)
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1f]")
_LABEL_NAMES = tuple(name.encode() for name in LABEL_COLUMN_NAMES)
_TRIMMED = b'" \t\n\r\x0b\x0c'  # what split_fields trims around a field
_PIXEL_NAME = re.compile(r"^[A-Za-z_ .]*\d+$")


@dataclass(frozen=True)
class CsvLayout:
    """What the first line of a file says about all of it.

    ``label_column`` is the 0-based index of the label field; ``label_name`` its header name
    (``None`` without a header); ``field_count`` the number of fields per line (label included);
    ``first_data_line`` the 1-based number of the first data line; ``line_ending`` one of
    ``"\\n"``, ``"\\r\\n"``, ``"\\r"``.
    """

    header: bool
    header_names: tuple[str, ...] | None
    label_column: int
    label_name: str | None
    field_count: int
    shape: tuple[int, int, int]
    gzip: bool
    bom: bool
    line_ending: str
    first_data_line: int

    @property
    def pixel_count(self) -> int:
        """Number of pixel values per line."""
        return self.field_count - 1


def parse_shape(text: str | tuple[int, ...] | list[int] | None) -> tuple[int, int, int] | None:
    """Return ``(H, W, C)`` from ``"64x64x3"``, ``"28x28"`` (grayscale) or a sequence; ``None``
    and blank text (an empty shape box) are ``None``. Raises ``DatasetError`` for anything else."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if isinstance(text, str):
        parts = re.split(r"\s*[x×,]\s*", text.strip().lower())
        try:
            dims = tuple(int(p) for p in parts)
        except ValueError:
            raise ImageShapeError(
                f"shape {text!r} is not understood; expected HxWxC, e.g. 64x64x3 or 28x28x1"
            ) from None
    else:
        dims = tuple(int(d) for d in text)
    if len(dims) == 2:
        dims = (*dims, 1)
    if len(dims) != 3 or min(dims) < 1:
        raise ImageShapeError(
            f"shape {text!r} is not understood; expected three positive sizes HxWxC, e.g. 64x64x3"
        )
    return dims  # type: ignore[return-value]


def format_shape(shape: tuple[int, ...] | list[int] | None) -> str:
    """Return ``shape`` as users write it (``"64x64x3"``); ``"?"`` when unknown."""
    return "x".join(str(int(side)) for side in shape) if shape else "?"


def format_label_column(label_column: str | int, quote: str = "'") -> str:
    """Return the label column as users read it: its header name in ``quote`` marks, or
    ``column N`` counted from 1 (``label_column`` is a name, or a 0-based index)."""
    if isinstance(label_column, str):
        return f"{quote}{label_column}{quote}"
    return f"column {int(label_column) + 1}"


def colour_name(channels: int) -> str:
    """Return what images with ``channels`` channels are called: grayscale, RGB, or
    ``"N channels"``."""
    return {1: "grayscale", 3: "RGB"}.get(int(channels), f"{int(channels)} channels")


def infer_shape(pixel_count: int) -> tuple[int, int, int] | None:
    """Return the square image shape holding ``pixel_count`` values, or ``None``.

    ``s*s`` values are ``s x s x 1`` (grayscale) and ``3*s*s`` are ``s x s x 3`` (RGB). The two
    never compete: ``s*s == 3*t*t`` has no solution in positive integers (sqrt 3 is irrational),
    so a square count is never ambiguous; any other count needs an explicit shape.
    """
    side = math.isqrt(pixel_count)
    if side > 0 and side * side == pixel_count:
        return (side, side, 1)
    if pixel_count % 3 == 0:
        side = math.isqrt(pixel_count // 3)
        if side > 0 and 3 * side * side == pixel_count:
            return (side, side, 3)
    return None


def resolve_shape(
    pixel_count: int, shape: tuple[int, int, int] | None, path: str | os.PathLike[str]
) -> tuple[int, int, int]:
    """Return the image shape for lines of ``pixel_count`` values (explicit ``shape`` wins)."""
    if shape is not None:
        needed = shape[0] * shape[1] * shape[2]
        if needed != pixel_count:
            raise ImageShapeError(
                f"shape {format_shape(shape)} needs {needed} pixel values per line, "
                f"found {pixel_count}",
                path=path,
                line=None,
            )
        return shape
    inferred = infer_shape(pixel_count)
    if inferred is None:
        raise ImageShapeError(
            f"{pixel_count} pixel values per line fit no square image (expected s*s for "
            "grayscale or 3*s*s for RGB, e.g. 784 = 28x28x1 or 12288 = 64x64x3); "
            "give the shape explicitly (--shape HxWxC)",
            path=path,
        )
    return inferred


def _kernel_devices() -> frozenset[int]:
    """Device ids of /proc and /sys: their files say they are regular but are not data."""
    devices = set()
    for root in ("/proc", "/sys"):
        with contextlib.suppress(OSError):
            devices.add(os.stat(root).st_dev)
    return frozenset(devices)


def _refuse_special(info: os.stat_result, path: str | os.PathLike[str]) -> None:
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise DatasetError("is a folder, expected a CSV file", path=path)
    kind = (
        "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a character device"
        if stat.S_ISCHR(mode)
        else "a block device"
        if stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else None
    )
    if kind is not None:
        raise DatasetError(
            f"is {kind}, not a regular file; only regular files (and .gz of them) are read: "
            "save the data to a file first",
            path=path,
        )
    if info.st_dev in _kernel_devices():
        raise DatasetError(
            "is a file of the kernel's /proc or /sys interface, not a data file; expected a "
            "CSV file",
            path=path,
        )


def regular_file_stat(path: str | os.PathLike[str]) -> os.stat_result:
    """``os.stat`` of ``path``, which must be a regular file (not a folder, FIFO, device,
    socket or /proc file: reading those would hang or fail). Raises ``DatasetError``."""
    if os.fspath(path) == "-":
        raise DatasetError(
            "reading standard input is not supported; save the data to a file and give its path",
            path="-",
        )
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise DatasetError("file not found", path=path) from None
    except (OSError, ValueError) as error:  # ValueError: a NUL byte in the name
        reason = getattr(error, "strerror", None) or str(error)
        raise DatasetError(f"cannot be opened ({reason})", path=path) from None
    _refuse_special(info, path)
    return info


def open_binary(
    path: str | os.PathLike[str], limits: ReadLimits | None = None
) -> tuple[BinaryIO, bool]:
    """Open the regular file ``path`` for reading decompressed bytes; return
    ``(stream, is_gzip)``.

    gzip is recognised by its magic bytes whatever the file is called, and its expansion is
    watched (``limits``, default ``ReadLimits.from_env()``): a decompression bomb is refused
    with its figures as soon as it passes a limit. Anything but a regular file is refused
    before a byte is read (opening a FIFO without a writer would block forever).
    """
    regular_file_stat(path)
    try:
        # O_NONBLOCK: should the file have been swapped for a FIFO since, opening returns
        # at once and the check below refuses it
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise DatasetError("file not found", path=path) from None
    except OSError as error:
        raise DatasetError(f"cannot be opened ({error.strerror})", path=path) from None
    try:
        _refuse_special(os.fstat(fd), path)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    raw = os.fdopen(fd, "rb")
    magic = raw.read(2)
    raw.seek(0)
    if magic == b"\x1f\x8b":
        watched = WatchedGzip(raw, limits or ReadLimits.from_env(), path)
        return watched, True  # type: ignore[return-value]
    return raw, False


class WatchedGzip:
    """gzip decompression that counts what comes out and refuses a decompression bomb: more
    than ``limits.gzip_size`` bytes, or (past ``limits.ratio_after``) more than
    ``limits.gzip_ratio`` bytes out per compressed byte read."""

    def __init__(self, raw: BinaryIO, limits: ReadLimits, path: str | os.PathLike[str]) -> None:
        self._raw = raw
        self._gzip = gzip.GzipFile(fileobj=raw, mode="rb")
        self._limits = limits
        self._path = path
        self.expanded = 0

    def read(self, size: int = -1) -> bytes:
        data = self._gzip.read(size)
        self._count(len(data))
        return data

    def readinto(self, buffer: memoryview) -> int:
        count = self._gzip.readinto(buffer)
        self._count(count)
        return count

    def _count(self, count: int) -> None:
        self.expanded += count
        limits = self._limits
        if self.expanded > limits.gzip_size:
            raise DatasetError(
                f"the gzip data expands past {format_size(limits.gzip_size)} "
                f"({format_size(self._raw.tell())} compressed gave "
                f"{format_size(self.expanded)} so far); a decompression bomb? If the file is "
                f"genuine, raise the limit ({GZIP_SIZE_ENV}, or inspect --max-gzip-size)",
                path=self._path,
            )
        if self.expanded > limits.ratio_after:
            compressed = max(self._raw.tell(), 1)
            if self.expanded > limits.gzip_ratio * compressed:
                raise DatasetError(
                    f"the gzip data expands more than {limits.gzip_ratio:g} times "
                    f"({format_size(compressed)} compressed gave {format_size(self.expanded)} "
                    f"so far; pixel CSVs expand 3 to 10 times): a decompression bomb? If the "
                    f"file is genuine, raise the limit ({GZIP_RATIO_ENV}, or inspect "
                    "--max-gzip-ratio)",
                    path=self._path,
                )

    def close(self) -> None:
        try:
            self._gzip.close()
        finally:
            self._raw.close()

    def __enter__(self) -> WatchedGzip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_block(stream: BinaryIO, size: int, path: str | os.PathLike[str]) -> bytes:
    """Read up to ``size`` bytes, turning decompression failures into ``DatasetError``."""
    with _read_errors(path):
        return stream.read(size)
    raise AssertionError("unreachable")  # pragma: no cover - _read_errors re-raises


def read_into(stream: BinaryIO, buffer: memoryview, path: str | os.PathLike[str]) -> int:
    """Read into ``buffer`` (``readinto``: no copy); return the byte count, 0 at the end.
    Decompression failures become ``DatasetError`` as in ``read_block``."""
    with _read_errors(path):
        return stream.readinto(buffer)  # type: ignore[attr-defined]
    raise AssertionError("unreachable")  # pragma: no cover - _read_errors re-raises


@contextlib.contextmanager
def _read_errors(path: str | os.PathLike[str]) -> Iterator[None]:
    try:
        yield
    except EOFError:
        raise DatasetError(
            "the gzip data ends early (truncated download or copy?); expected a complete .gz file",
            path=path,
        ) from None
    except (gzip.BadGzipFile, zlib.error) as error:
        raise DatasetError(
            f"corrupt gzip data ({error}); expected a valid .gz file", path=path
        ) from None
    except OSError as error:
        raise DatasetError(f"cannot be read ({error})", path=path) from None


def refuse_non_csv(start: bytes, path: str | os.PathLike[str]) -> None:
    """Raise ``DatasetError`` if the first bytes show the file is not a text CSV."""
    if not start.strip():
        raise DatasetError(
            "the file is empty; expected lines of a label and pixel values", path=path
        )
    if start.startswith(_LFS_POINTER):
        raise DatasetError(
            "this is a Git LFS pointer file, not the data itself; fetch the real file with "
            "`git lfs pull` in the repository it came from (or download it directly)",
            path=path,
        )
    for signature, what in _BINARY_SIGNATURES:
        if what and start.startswith(signature):
            raise DatasetError(
                f"this is {what} renamed, not a CSV file; expected text lines of a label and "
                "pixel values",
                path=path,
            )
    if start.startswith(b"BZh") and b"," not in start[:64]:
        raise DatasetError("this is a bzip2 archive; decompress it first (bunzip2)", path=path)
    sample = start[:65536]
    control = _CONTROL_BYTES.search(sample)
    if control is not None:
        raise DatasetError(
            f"found binary data (byte 0x{sample[control.start()]:02x}), not a text CSV file; "
            "expected text lines of a label and pixel values (is this an image or an archive "
            "renamed .csv?)",
            path=path,
            line=sample[: control.start()].count(b"\n") + 1,
        )


def split_fields(line: bytes) -> list[bytes]:
    """Split one line into fields, trimming spaces and one layer of double quotes."""
    fields = line.split(b",")
    if len(line.translate(None, _TRIMMED)) == len(line):
        return fields  # nothing to trim (the usual case: a wide line costs no Python loop)
    return [f.strip().strip(b'"').strip() for f in fields]


def is_integer_token(token: bytes) -> bool:
    """Whether a trimmed ``token`` reads as an integer (``12``, ``-3``)."""
    return token.isdigit() or (token[:1] == b"-" and token[1:].isdigit())


_DIGITS_AND_COMMAS = b"0123456789,"


def _wide_data_line(line: bytes) -> tuple[int, int] | None:
    """``(field_count, label_column)`` of a wide first line that is plainly data: every field
    but the first and the last an unsigned integer, neither end a label column name. Found with
    a few passes in C, no Python object per field (a 2000x2000 RGB line has 12 million);
    ``None`` sends any other line (headers, quotes, spaces...) to the general rules, which this
    agrees with."""
    if len(line) < 1 << 16:
        return None
    if line.endswith(b","):
        line = line[:-1]  # a trailing comma (accepted, see data/README.md)
    first_end = line.find(b",")
    last_start = line.rfind(b",") + 1
    if first_end <= 0 or last_start <= first_end + 1 or last_start == len(line):
        return None
    middle = line[first_end + 1 : last_start - 1]
    if not middle or middle.translate(None, _DIGITS_AND_COMMAS) or b",," in middle:
        return None
    first, last = line[:first_end], line[last_start:]
    if first.strip().strip(b'"').strip().lower() in _LABEL_NAMES:
        return None
    if last.strip().strip(b'"').strip().lower() in _LABEL_NAMES:
        return None
    first_numeric = is_integer_token(first.strip().strip(b'"').strip())
    last_numeric = is_integer_token(last.strip().strip(b'"').strip())
    field_count = line.count(b",") + 1
    return field_count, (field_count - 1 if first_numeric and not last_numeric else 0)


def detect_layout(
    first_line: bytes,
    *,
    shape: tuple[int, int, int] | None,
    path: str | os.PathLike[str],
    gzipped: bool,
    bom: bool,
    line_ending: str,
    line_number: int = 1,
) -> CsvLayout:
    """Work out header, label column and shape from the first line (without line ending)."""
    wide = _wide_data_line(first_line)
    if wide is not None:
        field_count, label_column = wide
        return CsvLayout(
            header=False,
            header_names=None,
            label_column=label_column,
            label_name=None,
            field_count=field_count,
            shape=resolve_shape(field_count - 1, shape, path),
            gzip=gzipped,
            bom=bom,
            line_ending=line_ending,
            first_data_line=line_number,
        )
    fields = split_fields(first_line)
    if fields and fields[-1] == b"" and len(fields) > 2:
        fields = fields[:-1]  # a trailing comma (accepted, see data/README.md)
    if len(fields) < 2:
        raise DatasetError(
            f"found {len(fields)} field(s); expected a label and pixel values separated by commas",
            path=path,
            line=line_number,
        )
    numeric = list(map(bytes.isdigit, fields))
    for index in itertools.compress(range(len(fields)), map(operator.not_, numeric)):
        numeric[index] = is_integer_token(fields[index])  # "-3" is an integer too
    lowered = first_line.lower()
    named = []
    if any(name in lowered for name in _LABEL_NAMES):
        named = [i for i, f in enumerate(fields) if f.lower() in _LABEL_NAMES]
    # a header names the label column or is mostly words; a data line with a few bad values
    # stays data, so that its errors are reported instead of the line being skipped
    header = bool(named) or numeric.count(False) > len(fields) // 2
    if header:
        names = [f.decode("utf-8", errors="replace") for f in fields]
        if named:
            label_column = named[0]
        else:
            # one column whose name is not like a pixel's ("pixel12", "f3") is the label
            odd = [i for i, n in enumerate(names) if not _PIXEL_NAME.match(n.strip())]
            label_column = odd[0] if len(odd) == 1 else 0
        label_name: str | None = names[label_column]
        header_names: tuple[str, ...] | None = tuple(names)
        first_data_line = line_number + 1
    else:
        # no header: the label comes first, unless only the last field is a word ("...,daisy")
        label_column = len(fields) - 1 if (numeric[0] and not numeric[-1]) else 0
        label_name = None
        header_names = None
        first_data_line = line_number
    pixel_count = len(fields) - 1
    return CsvLayout(
        header=header,
        header_names=header_names,
        label_column=label_column,
        label_name=label_name,
        field_count=len(fields),
        shape=resolve_shape(pixel_count, shape, path),
        gzip=gzipped,
        bom=bom,
        line_ending=line_ending,
        first_data_line=first_data_line,
    )


def read_first_line(
    stream: BinaryIO, path: str | os.PathLike[str]
) -> tuple[bytes, bytes, bool, str, int]:
    """Read the start of ``stream``; return ``(first_line, rest, bom, line_ending, number)``.

    ``first_line`` is the first non-blank line without its line ending, ``number`` its 1-based
    line number; ``rest`` is what was read beyond it. Refuses non-CSV files and first lines
    longer than ``FIRST_LINE_LIMIT``.
    """
    block = read_block(stream, 1 << 20, path)
    bom = block.startswith(b"\xef\xbb\xbf")
    if bom:
        block = block[3:]
    refuse_non_csv(block, path)
    skipped = len(block) - len(block.lstrip(b"\r\n"))
    blank_lines = max(block[:skipped].count(b"\n"), block[:skipped].count(b"\r"))
    content = bytearray(block[skipped:])
    while True:
        newline = content.find(b"\n")
        cr = content.find(b"\r")
        if newline >= 0 or (cr >= 0 and cr + 1 < len(content)):
            break
        if len(content) > FIRST_LINE_LIMIT:
            raise DatasetError(
                f"the first line is longer than {FIRST_LINE_LIMIT // (1 << 20)} MiB without a "
                "line break; expected one image per line",
                path=path,
                line=1,
            )
        block = read_block(stream, 1 << 22, path)
        if not block:
            break
        content += block
    content = bytes(content)
    if newline < 0 and cr < 0:
        return content, b"", bom, "\n", blank_lines + 1
    if newline >= 0 and (cr < 0 or cr >= newline - 1):
        if cr >= 0 and cr == newline - 1:
            return content[:cr], content[newline + 1 :], bom, "\r\n", blank_lines + 1
        return content[:newline], content[newline + 1 :], bom, "\n", blank_lines + 1
    # a carriage return comes first and no line feed follows it: old Mac line endings
    return content[:cr], content[cr + 1 :], bom, "\r", blank_lines + 1
