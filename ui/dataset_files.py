"""Where dataset files come from: uploads stored by content hash, typed paths kept inside data/.

No Streamlit here (plain functions, tested directly); the Data page calls them.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from flowerdash.errors import DatasetError

DATASET_SUFFIXES = (".csv", ".csv.gz")
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def has_dataset_suffix(name: str) -> bool:
    """Return whether ``name`` ends in ``.csv`` or ``.csv.gz`` (any letter case)."""
    return name.lower().endswith(DATASET_SUFFIXES)


def safe_file_name(name: str) -> str:
    """Return ``name`` without folders and with unusual characters replaced by ``_``."""
    base = Path(name.replace("\\", "/")).name
    cleaned = _UNSAFE.sub("_", base).strip(" .")
    return cleaned or "upload.csv"


def content_hash(data: bytes) -> str:
    """Return the SHA-256 of ``data``, hex (the upload's folder name)."""
    return hashlib.sha256(data).hexdigest()


def store_upload(name: str, data: bytes, uploads_dir: Path) -> Path:
    """Store an uploaded file as ``<uploads_dir>/<sha256>/<name>``; return its path.

    Two different files never overwrite each other (different hashes); uploading the same bytes
    again returns the existing file untouched, so its parsed cache stays valid. The write is
    atomic (temporary file, then rename). Raises DatasetError for a name that is not
    ``.csv`` / ``.csv.gz`` or an empty file.
    """
    if not has_dataset_suffix(name):
        raise DatasetError(
            "expected a .csv or .csv.gz file (one image a line: label and pixel values)",
            path=name,
        )
    if not data:
        raise DatasetError("the file is empty; expected one image a line", path=name)
    folder = uploads_dir / content_hash(data)
    target = folder / safe_file_name(name)
    if target.is_file() and target.stat().st_size == len(data):
        return target
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def resolve_data_path(typed: str, data_dir: Path) -> Path:
    """Return the file ``typed`` names, resolved, provided it lies inside ``data_dir``.

    A relative path is taken from ``data_dir`` (``flowers_train.csv``), or from its parent
    when it starts with the folder's name (``data/flowers_train.csv``). Symbolic links are
    followed before the check, so a link pointing out of ``data_dir`` is refused like ``..``.
    Raises DatasetError saying why a path is refused or missing.
    """
    text = typed.strip().strip("'\"")
    if not text:
        raise DatasetError("no path given; expected a .csv or .csv.gz file inside data/")
    root = data_dir.resolve()
    candidate = Path(text).expanduser()
    if ".." in candidate.parts:
        raise DatasetError(f"'..' is not allowed; expected a file inside {root}", path=text)
    if not candidate.is_absolute():
        parts = candidate.parts
        candidate = root.parent / candidate if parts[0] == root.name else root / candidate
    resolved = candidate.resolve()
    if not resolved.is_relative_to(root):
        raise DatasetError(
            f"the path leads outside the data folder (to {resolved}); only files inside {root} "
            "can be opened by path: copy the file there, or upload it",
            path=text,
        )
    if not resolved.is_file():
        raise DatasetError(f"no such file inside {root}", path=text)
    if not has_dataset_suffix(resolved.name):
        raise DatasetError("expected a .csv or .csv.gz file", path=text)
    return resolved


def list_dataset_files(data_dir: Path, limit: int = 200) -> list[str]:
    """Return the ``.csv`` / ``.csv.gz`` files under ``data_dir`` as paths relative to it.

    Sorted; hidden files and folders and files whose real location lies outside ``data_dir``
    are left out (they could not be opened anyway); at most ``limit`` paths.
    """
    root = data_dir.resolve()
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and has_dataset_suffix(path.name) and path.resolve().is_relative_to(root):
            found.append(relative.as_posix())
            if len(found) >= limit:
                break
    return found
