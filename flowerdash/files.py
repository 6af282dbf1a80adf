"""Reading and writing small files safely: one JSON reader, one atomic writer.

A reader never sees half a file written here: the content goes to a temporary file in the same
folder, which is then renamed over the target (``os.replace``); a write that fails removes its
temporary file and leaves the target as it was. Reading tells a missing file
(``FileNotFoundError``) from one that is there but unusable (:class:`UnreadableFile`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any


class UnreadableFile(ValueError):
    """A file that exists but cannot be used: not readable, not UTF-8, not valid JSON.

    ``problem`` completes a sentence about the file ("is not valid JSON (line 1 column 2)");
    ``str(error)`` is ``"<path> <problem>"``.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path} {problem}")


def read_text(path: str | os.PathLike[str]) -> str:
    """Return the UTF-8 text of ``path``.

    Raises FileNotFoundError when it is missing, UnreadableFile when it cannot be read or is
    not UTF-8.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise
    except OSError as error:
        raise UnreadableFile(path, f"cannot be read ({error.strerror or error})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnreadableFile(path, f"is not UTF-8 text (byte {error.start})") from None


def read_json(path: str | os.PathLike[str]) -> Any:
    """Return the JSON value in ``path``.

    Raises FileNotFoundError when it is missing, UnreadableFile when it is not valid JSON.
    """
    text = read_text(path)
    try:
        return json.loads(text)
    except ValueError as error:
        detail = getattr(error, "msg", None)
        where = (
            f"{detail}, line {error.lineno} column {error.colno}"
            if isinstance(error, json.JSONDecodeError)
            else str(error)
        )
        raise UnreadableFile(path, f"is not valid JSON ({where})") from None


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Write ``path`` atomically: ``write(temporary_path)``, then rename over ``path``.

    The temporary file sits in the same folder and keeps ``path``'s suffix (Keras and
    matplotlib choose the format by it). If ``write`` or the rename fails, the temporary file is
    removed and ``path`` is left as it was. Returns ``path``.
    """
    target = Path(path)
    temporary = target.with_name(f".tmp-{os.getpid()}-{secrets.token_hex(3)}-{target.name}")
    try:
        write(temporary)
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return target


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda temporary: temporary.write_bytes(data))


def write_json_atomic(path: str | os.PathLike[str], value: Any) -> Path:
    """Write ``value`` as JSON (NaN refused) to ``path`` atomically."""
    text = json.dumps(value, indent=1, allow_nan=False, default=str)
    return write_text_atomic(path, text)
