"""Checks of the paths a command is given, made before any work (or Keras) starts, so that a
wrong path gets one clear message instead of a traceback halfway through."""

from __future__ import annotations

import os
from pathlib import Path

from flowerdash import runs
from flowerdash.errors import ConfigError, RunError


def run_folder(path: str | os.PathLike[str]) -> Path:
    """``path`` if it is a run directory (holding ``config.json`` or ``status.json``).

    Raises RunError saying what it is instead: missing, a file (a CSV given by mistake?), or a
    folder that holds no run.
    """
    folder = Path(path)
    expected = f"expected a run directory (e.g. runs/<id>/, holding {runs.CONFIG})"
    try:
        if folder.is_dir():
            if runs.is_run_dir(folder):
                return folder
            raise RunError(f"{folder}: a folder without {runs.CONFIG} or {runs.STATUS}; {expected}")
        if folder.exists():
            hint = " (the test CSV goes after --test)" if _looks_like_csv(folder) else ""
            raise RunError(f"{folder}: is a file{hint}; {expected}")
    except (OSError, ValueError) as error:  # ValueError: a NUL byte in the path
        raise RunError(f"{folder}: cannot be read ({error}); {expected}") from None
    raise RunError(f"{folder}: not found; {expected}")


def runs_folder(path: str | os.PathLike[str] | None) -> None:
    """Refuse a ``--runs-dir`` that is a file or lies below one (it could never hold runs)."""
    if path is None:
        return
    folder = Path(path)
    for candidate in (folder, *folder.parents):
        try:
            if candidate.is_dir():
                return
            if candidate.exists():
                raise ConfigError(
                    f"--runs-dir {folder}: {candidate} is a file; expected a folder to hold run "
                    "directories (it is made if missing)"
                )
        except (OSError, ValueError) as error:
            raise ConfigError(f"--runs-dir {folder}: cannot be used ({error})") from None


def output_file(path: str | os.PathLike[str] | None, option: str) -> None:
    """Refuse an output path (``--json PATH``) that cannot be written: a folder, or a file in a
    folder that does not exist or is not writable. Checked before the work that produces it."""
    if path is None:
        return
    target = Path(path)
    parent = target.parent
    try:
        if target.is_dir():
            raise ConfigError(f"{option} {target}: is a folder; expected a file name to write")
        if not parent.is_dir():
            raise ConfigError(
                f"{option} {target}: the folder {parent} does not exist; create it first or "
                "give a path in an existing folder"
            )
        if not os.access(parent, os.W_OK):
            raise ConfigError(f"{option} {target}: the folder {parent} is not writable")
    except (OSError, ValueError) as error:
        raise ConfigError(f"{option} {target}: cannot be written ({error})") from None


def input_file(path: str | os.PathLike[str]) -> None:
    """Refuse an input that is not a regular file (a FIFO would block, a device never end)
    before the model is loaded. Raises DatasetError."""
    from flowerdash.data.csv_format import regular_file_stat

    regular_file_stat(path)


def _looks_like_csv(path: Path) -> bool:
    return path.name.lower().endswith((".csv", ".csv.gz", ".gz"))
