"""The corpus of bad inputs from issue #12, built cheaply on demand (tests and benchmarks).

Decompression bombs are multi-member gzip files: one block of whole lines is compressed once
and its member repeated, so a file expanding to gigabytes is written at disk speed (gzip
readers read concatenated members as one stream).
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import threading
import zipfile
import zlib
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


def png_bomb(path: Path, side: int = 14_143) -> Path:
    """A valid 1-bit PNG of ``side`` x ``side`` black pixels (200 megapixels by default): a
    few tens of kilobytes that decode to hundreds of megabytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    row = bytes(1 + (side + 7) // 8)  # filter byte 0, then the row's bits, all zero
    packer = zlib.compressobj(9)
    block = row * 512
    data = b"".join(packer.compress(block) for _ in range(side // 512))
    data += packer.compress(row * (side % 512)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )
    return path


def keras_config(layers: list[dict]) -> dict:
    """A functional model's config.json holding ``layers`` (as Keras 3 writes them)."""
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {"name": "functional", "layers": layers},
        "registered_name": None,
    }


def model_archive(path: Path, config: dict, weights: bytes = b"not hdf5") -> Path:
    """A .keras zip with ``config`` and garbage weights."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.0"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", weights)
    return path


DENSE_LAYER = {
    "module": "keras.layers",
    "class_name": "Dense",
    "config": {"name": "dense", "units": 2},
    "registered_name": None,
    "name": "dense",
}
TFSM_LAYER = {
    "module": "keras.layers",
    "class_name": "TFSMLayer",
    "config": {"name": "borrowed", "filepath": "/tmp/saved_model"},
    "registered_name": "TFSMLayer",
    "name": "borrowed",
}
CODE_LAYER = {
    "module": "os",
    "class_name": "system",
    "config": {"name": "innocent", "command": "touch /tmp/pwned"},
    "registered_name": None,
    "name": "innocent",
}
