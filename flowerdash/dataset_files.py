"""Where dataset files come from: uploads stored by content hash, typed paths kept inside data/.

Library code (no Streamlit; tested directly): the Data page and the URL of a page call it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from flowerdash.data.csv_format import regular_file_stat
from flowerdash.errors import DatasetError

DATASET_SUFFIXES = (".csv", ".csv.gz")
#: Longest file name most file systems store, in bytes.
NAME_LIMIT = 255
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def has_dataset_suffix(name: str) -> bool:
    """Return whether ``name`` ends in ``.csv`` or ``.csv.gz`` (any letter case)."""
    return name.lower().endswith(DATASET_SUFFIXES)


def safe_file_name(name: str) -> str:
    """Return ``name`` without folders, with unusual characters replaced by ``_``, and short
    enough to store (at most ``NAME_LIMIT`` bytes); its ``.csv`` / ``.csv.gz`` suffix is kept.
    A name that is only a suffix (``.csv``) becomes ``upload.csv``."""
    base = Path(name.replace("\\", "/")).name
    lower = base.lower()
    size = 7 if lower.endswith(".csv.gz") else 4 if lower.endswith(".csv") else 0
    suffix = base[len(base) - size :] if size else ""
    stem = _UNSAFE.sub("_", base[: len(base) - size]).strip(" .")
    stem = stem[: NAME_LIMIT - size].rstrip(" .")  # ASCII after the substitution
    return (stem or "upload") + (suffix or ("" if stem else ".csv"))


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


def with_upload_names(error: DatasetError, names: Mapping[Path, str]) -> DatasetError:
    """Return ``error`` naming its file as the user uploaded it (``"<name> (uploaded)"``), not
    by its stored hashed path; ``error`` itself when it names none of ``names``' stored paths.

    ``names`` maps stored upload paths (from ``store_upload``) to the names the user gave."""
    for stored, original in names.items():
        if error.path is not None and Path(error.path) == stored:
            return DatasetError(error.problem, path=f"{original} (uploaded)", line=error.line)
    return error


def resolve_data_path(typed: str, data_dir: Path) -> Path:
    """Return the file ``typed`` names, resolved, provided it lies inside ``data_dir``.

    A relative path is taken from ``data_dir`` (``flowers_train.csv``), or from its parent
    when it starts with the folder's name (``data/flowers_train.csv``). Symbolic links are
    followed before the check, so a link pointing out of ``data_dir`` is refused like ``..``.
    Raises DatasetError (and nothing else, whatever the text: typed or from the URL) saying
    why a path is refused or missing: outside the folder, a NUL byte, a name over 255 bytes, a
    symbolic link loop, a folder or anything but a regular file.
    """
    text = typed.strip().strip("'\"")
    if not text:
        raise DatasetError("no path given; expected a .csv or .csv.gz file inside data/")
    shown = text if len(text) <= 120 else text[:60] + "..." + text[-40:]
    if "\0" in text:
        raise DatasetError(
            "the path holds a NUL byte; expected a .csv or .csv.gz file inside data/",
            path=shown.replace("\0", "\\0"),
        )
    candidate = Path(text)
    if text.startswith("~"):
        # "~someone" without such a user: the name is taken literally
        with contextlib.suppress(RuntimeError):
            candidate = candidate.expanduser()
    if any(len(os.fsencode(part)) > NAME_LIMIT for part in candidate.parts):
        raise DatasetError(
            f"a name in the path is longer than {NAME_LIMIT} bytes, which no file can have; "
            "expected a .csv or .csv.gz file inside data/",
            path=shown,
        )
    if ".." in candidate.parts:
        raise DatasetError(f"'..' is not allowed; expected a file inside {data_dir}", path=shown)
    try:
        root = data_dir.resolve()
        if not candidate.is_absolute():
            parts = candidate.parts
            in_parent = bool(parts) and parts[0] == root.name
            candidate = root.parent / candidate if in_parent else root / candidate
        resolved = candidate.resolve()
    except RuntimeError:  # Python < 3.13: a symbolic link loop
        raise DatasetError(
            "the path goes round a loop of symbolic links; expected a file", path=shown
        ) from None
    except OSError as error:
        raise DatasetError(f"cannot be resolved ({error.strerror or error})", path=shown) from None
    if not resolved.is_relative_to(root):
        raise DatasetError(
            f"the path leads outside the data folder (to {resolved}); only files inside {root} "
            "can be opened by path: copy the file there, or upload it",
            path=shown,
        )
    try:
        regular_file_stat(resolved)
    except DatasetError as error:
        if error.problem == "file not found":
            raise DatasetError(f"no such file inside {root}", path=shown) from None
        raise DatasetError(error.problem, path=shown) from None
    if not has_dataset_suffix(resolved.name):
        raise DatasetError("expected a .csv or .csv.gz file", path=shown)
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
    # os.walk neither follows links to folders nor fails on a link loop or an unreadable folder
    for folder, folders, files in os.walk(root):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(files):
            path = Path(folder, name)
            if name.startswith(".") or not has_dataset_suffix(name):
                continue
            try:
                inside = path.resolve(strict=True).is_relative_to(root) and path.is_file()
            except (OSError, RuntimeError):  # a dangling link or a loop
                continue
            if inside:
                found.append(path.relative_to(root).as_posix())
    return sorted(found)[:limit]
