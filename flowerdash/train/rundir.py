"""Writing a run directory (the contract is in docs/architecture.md; ``flowerdash.runs`` reads it).

:class:`RunWriter` owns ``status.json`` (state changes plus a heartbeat), ``progress.jsonl``
(appended), ``config.json``, and the atomic publication of the other files; the records and
their one writer each are ``flowerdash.run_records``. No Keras here.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from flowerdash import run_records
from flowerdash.errors import RunError
from flowerdash.files import atomic_write, write_bytes_atomic
from flowerdash.run_records import RunConfig, RunStatus

HEARTBEAT_SECONDS = 5.0


def process_started() -> float | None:
    """When this process started (seconds since the epoch), or None where that is unknown."""
    try:
        import psutil

        return psutil.Process(os.getpid()).create_time()
    except Exception:  # psutil missing or the platform refuses: the pid check alone remains
        return None


class RunWriter:
    """The writing side of one run directory, used by the training process only."""

    def __init__(self, run_dir: str | os.PathLike[str]) -> None:
        self.run_dir = Path(run_dir)
        self._lock = threading.Lock()
        self._status: RunStatus | None = None
        self._heartbeat: threading.Thread | None = None
        self._stop_heartbeat = threading.Event()
        self._progress: IO[str] | None = None

    @property
    def path(self) -> Path:
        return self.run_dir

    def file(self, name: str) -> Path:
        """Path of a file in the run directory."""
        return self.run_dir / name

    # -- config and status ------------------------------------------------------------------
    def write_config(self, config: RunConfig) -> None:
        """Write ``config.json`` atomically."""
        run_records.write_config(self.run_dir, config)

    def set_state(self, state: str, **fields: Any) -> None:
        """Record a new state (and any other status fields), atomically, now.

        The first call takes ``started``, ``epoch`` and ``epochs`` over from a status already
        there (a launcher's ``queued``, or the run being resumed) and records this process.
        """
        with self._lock:
            if self._status is None:
                try:
                    previous = run_records.read_recorded_status(self.run_dir)
                except RunError:
                    previous = RunStatus(state=state)
                self._status = RunStatus(
                    state=state,
                    pid=os.getpid(),
                    pid_started=process_started(),
                    started=previous.started or time.time(),
                    epoch=previous.epoch,
                    epochs=previous.epochs,
                )
            self._status = self._status.changed(state=state, **fields)
            run_records.write_status(self.run_dir, self._status)

    def update_status(self, **fields: Any) -> None:
        """Change status fields other than the state (e.g. ``epoch``), atomically."""
        with self._lock:
            if self._status is None:
                raise RunError(f"{self.run_dir}: no state recorded yet")
            self._status = self._status.changed(**fields)
            run_records.write_status(self.run_dir, self._status)

    @property
    def state(self) -> str | None:
        return self._status.state if self._status else None

    def start_heartbeat(self, every: float = HEARTBEAT_SECONDS) -> None:
        """Refresh ``updated`` in ``status.json`` every few seconds from a daemon thread."""

        def beat() -> None:
            while not self._stop_heartbeat.wait(every):
                self.update_status()

        self._heartbeat = threading.Thread(target=beat, name="status-heartbeat", daemon=True)
        self._heartbeat.start()

    def stop_heartbeat(self) -> None:
        self._stop_heartbeat.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=2)

    # -- progress ---------------------------------------------------------------------------
    def append_progress(self, record: dict[str, Any]) -> None:
        """Append one JSON line to ``progress.jsonl`` (a reader skips a line not yet ended)."""
        if self._progress is None:
            self._progress = self.file(run_records.PROGRESS).open("a", encoding="utf-8")
        self._progress.write(json.dumps(record, allow_nan=True) + "\n")
        self._progress.flush()

    def close(self) -> None:
        """Stop the heartbeat and close the progress file."""
        self.stop_heartbeat()
        if self._progress is not None:
            self._progress.close()
            self._progress = None

    # -- other files ------------------------------------------------------------------------
    def publish(self, name: str, write: Callable[[Path], Any]) -> Path:
        """Write ``name`` atomically: ``write(temporary_path)`` then rename over ``name``.

        The temporary path keeps ``name``'s suffix (Keras and matplotlib go by it).
        """
        return atomic_write(self.file(name), write)

    def publish_copy(self, source: str | os.PathLike[str], name: str) -> Path:
        """Copy ``source`` to ``name`` in the run directory atomically."""
        return write_bytes_atomic(self.file(name), Path(source).read_bytes())


class Tee:
    """A text stream writing to several streams (the console and ``train.log``)."""

    def __init__(self, *streams: IO[str]) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
            stream.flush()
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()

    def isatty(self) -> bool:
        return any(getattr(stream, "isatty", lambda: False)() for stream in self.streams)

    def fileno(self) -> int:
        return self.streams[0].fileno()


def stdout_is(path: Path) -> bool:
    """Whether this process's stdout already goes to ``path`` (a launcher redirected it)."""
    try:
        out, target = os.fstat(sys.stdout.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError):
        return False
    return (out.st_dev, out.st_ino) == (target.st_dev, target.st_ino)
