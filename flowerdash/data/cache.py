"""Binary cache of parsed datasets: memory-mappable pixels, label codes and metadata.

Layout of the cache folder (``default_cache_dir()``)::

    entries/<fingerprint>.pixels   raw uint8 pixels, rows * H*W*C bytes (memory-mapped on open)
    entries/<fingerprint>.codes    raw uint16 label codes, one per row (indices into ``classes``)
    entries/<fingerprint>.json     metadata (with ``class_counts``); written last, so an entry
                                   without it is not valid
    index/<hash of path>.json      {path, size, mtime_ns, fingerprint}: opens skip re-hashing

The fingerprint is a SHA-256 hash of the file's decompressed content, computed while parsing.
Every file is written under a temporary name and moved into place with ``os.replace``; the
metadata goes last, so a crash at any point leaves nothing that looks like a valid entry.
A file whose size or modification time changed is parsed again.

Pixels and label codes stream to disk while parsing, so a parse that writes the cache holds
no per-row data in memory. The writer refuses to pass the cache's size limit or to leave less
than the free-space margin on its disk (``flowerdash.data.limits``), and says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flowerdash.data.limits import (
    CACHE_FREE_ENV,
    CACHE_SIZE_ENV,
    ReadLimits,
    format_size,
)
from flowerdash.errors import DatasetError
from flowerdash.files import read_json, write_json_atomic

#: Bumped whenever the entry layout or the parser's output changes.
CACHE_FORMAT = 2


def default_cache_dir() -> Path:
    """``$FLOWERDASH_CACHE_DIR``, else ``$XDG_CACHE_HOME/flowerdash``, else
    ``~/.cache/flowerdash``."""
    explicit = os.environ.get("FLOWERDASH_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "flowerdash"
    return Path.home() / ".cache" / "flowerdash"


@dataclass(frozen=True)
class CacheStatus:
    """Whether a CSV file has a valid cache entry: ``state`` is ``"cached"`` (an entry matches
    the file's current size and modification time), ``"stale"`` (the file changed since it was
    cached) or ``"absent"``."""

    path: str
    state: str
    fingerprint: str | None
    entry: str | None
    cache_dir: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "fingerprint": self.fingerprint,
            "entry": self.entry,
            "cache_dir": self.cache_dir,
        }


@dataclass(frozen=True)
class CacheEntry:
    """A valid entry: its metadata and the memory-mapped arrays."""

    meta: dict[str, Any]
    pixels: np.ndarray
    codes: np.ndarray


def new_hasher() -> Any:
    """The streaming content hash used as fingerprint."""
    hasher = hashlib.sha256()  # with SHA extensions faster than blake2b; hashed in parallel
    hasher.update(f"flowerdash-csv-{CACHE_FORMAT}\0".encode())
    return hasher


def _index_file(cache_dir: Path, path: str | os.PathLike[str]) -> Path:
    key = hashlib.blake2b(os.fsencode(os.path.abspath(path)), digest_size=16).hexdigest()
    return cache_dir / "index" / f"{key}.json"


def _entry_base(cache_dir: Path, fingerprint: str) -> Path:
    return cache_dir / "entries" / fingerprint


def _read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; None when it is missing or unusable (the cache then
    rebuilds that entry)."""
    try:
        value = read_json(path)
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _write_json(path: Path, value: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, value)


def indexed_fingerprint(path: str | os.PathLike[str], cache_dir: Path) -> str | None:
    """The fingerprint recorded for ``path`` if its size and mtime are unchanged since."""
    record = _read_json(_index_file(cache_dir, path))
    if record is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    if record.get("size") != stat.st_size or record.get("mtime_ns") != stat.st_mtime_ns:
        return None
    fingerprint = record.get("fingerprint")
    return fingerprint if isinstance(fingerprint, str) else None


def record_fingerprint(
    path: str | os.PathLike[str], stat: os.stat_result, fingerprint: str, cache_dir: Path
) -> None:
    """Remember that ``path`` (at this size and mtime) has content ``fingerprint``."""
    _write_json(
        _index_file(cache_dir, path),
        {
            "path": os.path.abspath(path),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "fingerprint": fingerprint,
        },
    )


def open_entry(fingerprint: str, cache_dir: Path) -> CacheEntry | None:
    """Memory-map a valid entry read-only, or return ``None`` (missing, partial, other format)."""
    base = _entry_base(cache_dir, fingerprint)
    meta = _read_json(base.with_suffix(".json"))
    if meta is None or meta.get("format") != CACHE_FORMAT:
        return None
    rows = int(meta["rows"])
    height, width, channels = meta["shape"]
    pixels_path = base.with_suffix(".pixels")
    codes_path = base.with_suffix(".codes")
    try:
        if pixels_path.stat().st_size != rows * height * width * channels:
            return None
        if codes_path.stat().st_size != rows * 2:
            return None
        if rows == 0:
            return None
        pixels = np.memmap(pixels_path, dtype=np.uint8, mode="r")
        codes = np.memmap(codes_path, dtype="<u2", mode="r")
    except (OSError, ValueError):
        return None
    return CacheEntry(meta, pixels.reshape(rows, height, width, channels), codes)


#: Temporary files older than this were left by a crashed or killed parse.
ABANDONED_AFTER_S = 24 * 3600


def _remove_abandoned(folder: Path) -> None:
    cutoff = time.time() - ABANDONED_AFTER_S
    for temp in folder.glob(".parsing.*"):
        with contextlib.suppress(OSError):
            if temp.stat().st_mtime < cutoff:
                temp.unlink()


class EntryWriter:
    """Writes one entry: pixels and label codes stream in while parsing; ``commit`` names and
    publishes it.

    Until ``commit`` the data sits in temporary files that ``abort`` (or a crash) leaves
    without metadata, so they never count as a valid entry. ``append`` raises DatasetError
    (naming ``source``, the CSV) rather than pass ``limits``: the cache's size limit, or the
    free-space margin of its disk.
    """

    def __init__(
        self,
        cache_dir: Path,
        *,
        source: str | os.PathLike[str] | None = None,
        limits: ReadLimits | None = None,
    ) -> None:
        self.folder = cache_dir / "entries"
        self.folder.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(self.folder)
        self._source = source
        self._limits = limits or ReadLimits.from_env()
        self._used = sum(size for _, size in _own_files(cache_dir))
        self._written = 0
        self._temps: list[Path] = []
        self._pixels = self._temp(".pixels")
        self._codes = self._temp(".codes")

    def _temp(self, suffix: str) -> Any:
        fd, temp = tempfile.mkstemp(prefix=".parsing.", suffix=suffix, dir=self.folder)
        self._temps.append(Path(temp))
        return os.fdopen(fd, "wb")

    def append(self, pixels: np.ndarray, codes: np.ndarray) -> None:
        """Write a chunk's pixels and its rows' label codes (first-seen order, see commit)."""
        data = memoryview(np.ascontiguousarray(pixels)).cast("B")
        self._make_room(len(data) + 2 * len(codes))
        self._pixels.write(data)
        self._codes.write(memoryview(np.ascontiguousarray(codes, dtype="<u2")).cast("B"))

    def _make_room(self, size: int) -> None:
        limits = self._limits
        self._written += size
        if self._used + self._written > limits.cache_size:
            raise DatasetError(
                f"caching it would pass the cache's size limit of "
                f"{format_size(limits.cache_size)} ({format_size(self._used)} already in "
                f"{self.folder.parent}, {format_size(self._written)} written for this file "
                f"so far); clear the cache (cache clear), raise {CACHE_SIZE_ENV}, or read "
                "without the cache (--no-cache)",
                path=self._source,
            )
        free = shutil.disk_usage(self.folder).free
        if free - size < limits.cache_free:
            raise DatasetError(
                f"caching it would leave less than {format_size(limits.cache_free)} free on "
                f"the disk of {self.folder.parent} ({format_size(free)} free, "
                f"{format_size(self._written)} written for this file so far); free some "
                f"space, clear the cache (cache clear), lower {CACHE_FREE_ENV}, or read "
                "without the cache (--no-cache)",
                path=self._source,
            )

    def commit(self, fingerprint: str, remap: np.ndarray, meta: dict[str, Any]) -> CacheEntry:
        """Publish the entry. ``remap`` turns the first-seen codes appended into class
        indices; the codes file is rewritten through it in bounded blocks."""
        self._pixels.close()
        self._codes.close()
        base = self.folder / fingerprint
        table = np.asarray(remap, dtype="<u2")
        block = 1 << 20
        try:
            with open(self._temps[1], "r+b") as handle:
                while True:
                    start = handle.tell()
                    codes = np.fromfile(handle, dtype="<u2", count=block)
                    if not len(codes):
                        break
                    handle.seek(start)
                    handle.write(table[codes].tobytes())
            os.replace(self._temps[0], base.with_suffix(".pixels"))
            os.replace(self._temps[1], base.with_suffix(".codes"))
        except BaseException:
            self.abort()
            raise
        _write_json(base.with_suffix(".json"), {**meta, "format": CACHE_FORMAT})
        entry = open_entry(fingerprint, self.folder.parent)
        if entry is None:  # pragma: no cover - we just wrote it
            raise OSError(f"cache entry {base} unreadable right after writing")
        return entry

    def abort(self) -> None:
        for handle in (self._pixels, self._codes):
            with contextlib.suppress(OSError):
                handle.close()
        for temp in self._temps:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def cache_status(
    path: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None
) -> CacheStatus:
    """Tell whether ``path`` would open from the cache (without parsing or hashing it)."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    fingerprint = indexed_fingerprint(path, folder)
    if fingerprint is not None and open_entry(fingerprint, folder) is not None:
        entry = str(_entry_base(folder, fingerprint))
        return CacheStatus(os.fspath(path), "cached", fingerprint, entry, str(folder))
    state = "stale" if _index_file(folder, path).exists() else "absent"
    return CacheStatus(os.fspath(path), state, None, None, str(folder))


# entries, index records, and the temporary files of a parse or an atomic write left behind
_OWN_ENTRY = re.compile(r"[0-9a-f]{64}\.(pixels|codes|json)|\.parsing\..*|\..*\.tmp|\.tmp-.*")
_OWN_INDEX = re.compile(r"[0-9a-f]{32}\.json|\..*\.tmp|\.tmp-.*")


def _own_files(cache_dir: Path) -> Iterator[tuple[Path, int]]:
    """``(path, size)`` of every file the cache wrote (entries, index records, temporary
    files); anything else a user put in the folder is not the cache's."""
    for sub, pattern in (("entries", _OWN_ENTRY), ("index", _OWN_INDEX)):
        with contextlib.suppress(OSError), os.scandir(cache_dir / sub) as found:
            for item in found:
                if pattern.fullmatch(item.name) and item.is_file(follow_symlinks=False):
                    with contextlib.suppress(OSError):
                        yield Path(item.path), item.stat(follow_symlinks=False).st_size


def cache_info(cache_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Summarise the cache: folder, number of valid entries, bytes used, and each entry's
    source path, rows and shape."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    entries = []
    for meta_path in sorted((folder / "entries").glob("*.json")):
        meta = _read_json(meta_path)
        if meta is not None:
            entries.append(
                {
                    "fingerprint": meta_path.stem,
                    "source": meta.get("source"),
                    "rows": meta.get("rows"),
                    "shape": meta.get("shape"),
                }
            )
    size = sum(size for _, size in _own_files(folder))
    return {"cache_dir": str(folder), "entries": entries, "bytes": size}


def clear_cache(cache_dir: str | os.PathLike[str] | None = None) -> int:
    """Delete every cache entry, index record and temporary file; return the bytes freed.

    Only the cache's own files are deleted (anything else in the folder stays), and only
    space actually given back counts: a file that could not be deleted, or whose data another
    hard link still holds, frees nothing.
    """
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    freed = 0
    for path, size in list(_own_files(folder)):
        try:
            links = path.stat().st_nlink
            path.unlink()
        except OSError:
            continue
        if links == 1:
            freed += size
    for sub in ("entries", "index"):
        with contextlib.suppress(OSError):
            (folder / sub).rmdir()  # only when empty
    return freed
