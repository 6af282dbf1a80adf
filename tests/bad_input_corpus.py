"""The corpus of bad inputs from issue #12, built cheaply on demand (tests and benchmarks).

Decompression bombs are multi-member gzip files: one block of whole lines is compressed once
and its member repeated, so a file expanding to gigabytes is written at disk speed (gzip
readers read concatenated members as one stream).
"""

from __future__ import annotations

import gzip
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: A valid 28x28x1 row (784 pixel values) and a valid 1x1x1 row.
WIDE_ROW = b"7," + b",".join([b"0"] * 700 + [b"255"] * 84) + b"\n"
ONE_PIXEL_ROW = b"3,128\n"


def gzip_bomb(path: Path, row: bytes, expanded_bytes: int, block_bytes: int = 1 << 20) -> Path:
    """Write a .csv.gz of ``row`` repeated to about ``expanded_bytes`` once decompressed."""
    block = row * max(1, block_bytes // len(row))
    member = gzip.compress(block, compresslevel=9)
    with open(path, "wb") as handle:
        for _ in range(max(1, expanded_bytes // len(block))):
            handle.write(member)
    return path


def text_csv(path: Path, row: bytes, rows: int) -> Path:
    """Write ``rows`` copies of ``row`` (uncompressed)."""
    with open(path, "wb") as handle:
        step = 1 << 16
        for start in range(0, rows, step):
            handle.write(row * min(step, rows - start))
    return path


def fifo(path: Path) -> Path:
    """A named pipe with no writer: opening it for reading blocks forever."""
    os.mkfifo(path)
    return path


@contextmanager
def fifo_with_writer(path: Path, data: bytes = WIDE_ROW * 4) -> Iterator[Path]:
    """A named pipe that a thread writes ``data`` into once it is opened for reading."""
    os.mkfifo(path)

    def write() -> None:
        try:
            with open(path, "wb") as handle:  # blocks until a reader opens it
                handle.write(data)
        except OSError:
            pass

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        yield path
    finally:
        if writer.is_alive():  # nobody opened it: open it ourselves so the thread ends
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            writer.join(5)
            os.close(fd)
