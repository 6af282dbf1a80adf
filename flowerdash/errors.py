"""Errors whose message is meant for the user: the CLI prints them, the dashboard shows them."""

from __future__ import annotations

import os


class FlowerdashError(Exception):
    """Bad input or settings. The message says what, where, and what was expected."""


class DatasetError(FlowerdashError, ValueError):
    """A dataset file that cannot be read as an image CSV.

    ``str(error)`` is the whole message: ``"<file>, line <n>: <problem>"`` when a line applies,
    ``"<file>: <problem>"`` otherwise. ``path``, ``line`` (1-based) and ``problem`` are kept
    separately for callers that lay them out themselves.
    """

    def __init__(
        self, problem: str, *, path: str | os.PathLike[str] | None = None, line: int | None = None
    ) -> None:
        self.problem = problem
        self.path = None if path is None else os.fspath(path)
        self.line = line
        where = self.path or ""
        if line is not None:
            where = f"{where}, line {line}" if where else f"line {line}"
        super().__init__(f"{where}: {problem}" if where else problem)


class ShapeProblem(FlowerdashError):
    """Mixed into errors about the images' shape, which giving the shape (``HxWxC``) may fix:
    callers offer that by type, not by searching the message."""


class ImageShapeError(DatasetError, ShapeProblem):
    """A file whose image shape cannot be inferred, or does not match the shape given."""


class ConfigError(FlowerdashError, ValueError):
    """Settings that cannot work together (e.g. train and test shapes differ)."""


class RunError(FlowerdashError):
    """A run directory that is missing, incomplete, or in the wrong state for the request."""
