"""Reading run directories: list, status (with ``interrupted`` derived), history, progress, report.

The run directory contract is in docs/architecture.md; ``flowerdash.train`` writes it and this
module only reads it (plus the two requests a reader may make: ``request_stop`` and
``delete_run``), through the typed records of ``flowerdash.run_records``. A damaged run is
listed marked, never in the way of the others. No Keras or TensorFlow here: the dashboard polls
these functions.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowerdash import run_records
from flowerdash.errors import RunError
from flowerdash.run_records import (
    ACTIVE_STATES,
    BACKUP,
    CONFIG,
    FINAL_STATES,
    HISTORY,
    HISTORY_COLUMNS,
    LOG,
    MODEL,
    PLOT,
    PROGRESS,
    REPORT,
    RESUMABLE_STATES,
    STATUS,
    STOP,
    DamagedRunFile,
    RunConfig,
    RunHistory,
    RunReport,
    RunStatus,
)

__all__ = [
    "ACTIVE_STATES",
    "BACKUP",
    "CONFIG",
    "FINAL_STATES",
    "HISTORY",
    "HISTORY_COLUMNS",
    "LOG",
    "MODEL",
    "PLOT",
    "PROGRESS",
    "REPORT",
    "RESUMABLE_STATES",
    "STATUS",
    "STOP",
    "DamagedRunFile",
    "RunSummary",
    "default_runs_dir",
    "delete_run",
    "is_run_dir",
    "list_runs",
    "process_alive",
    "read_config",
    "read_history",
    "read_progress",
    "read_report",
    "read_status",
    "request_stop",
    "stop_requested",
    "summarize_run",
]


def default_runs_dir() -> Path:
    """The runs folder, the same for the CLI and the dashboard: ``$FLOWERDASH_RUNS_DIR`` if
    set, else ``runs`` in the working folder; absolute."""
    return Path(os.environ.get("FLOWERDASH_RUNS_DIR") or "runs").expanduser().resolve()


def is_run_dir(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a folder holding a run's ``status.json`` or ``config.json``."""
    folder = Path(path)
    return (folder / STATUS).is_file() or (folder / CONFIG).is_file()


def process_alive(pid: int | None, started: float | None = None) -> bool:
    """Whether process ``pid`` runs (zombies count as dead once all their threads are gone).

    A killed trainer's main thread can turn zombie while its other threads (TensorFlow's) are
    still exiting; until the last one ends, its files stay open and HDF5 keeps its lock on the
    backup, so reading the run as ended then would make a resume see a locked, "damaged" backup.
    ``started`` (the process's create time, seconds since the epoch) guards against a reused
    pid: a process created more than two seconds later is someone else.
    """
    if not pid:
        return False
    import psutil

    try:
        process = psutil.Process(int(pid))
        if process.status() == psutil.STATUS_ZOMBIE:
            return _threads_left(int(pid)) > 1
        return started is None or process.create_time() <= float(started) + 2.0
    except (psutil.Error, ValueError, OverflowError):
        return False


def _threads_left(pid: int) -> int:
    """How many threads of ``pid`` the kernel still lists (Linux ``/proc``; 0 elsewhere)."""
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


def read_status(run_dir: str | os.PathLike[str]) -> RunStatus:
    """Return the run's status as readers should see it.

    A recorded active state (queued, running, stopping) whose process is gone is reported as
    ``interrupted`` (``recorded_state`` keeps what the file says). Raises RunError when there
    is no status, DamagedRunFile when it does not parse.
    """
    status = run_records.read_recorded_status(run_dir)
    if status.state in ACTIVE_STATES and not process_alive(status.pid, status.pid_started):
        return dataclasses.replace(status, state="interrupted", recorded_state=status.state)
    return status


def read_config(run_dir: str | os.PathLike[str]) -> RunConfig:
    """Return the run's ``config.json`` (settings, data, classes, shape). Raises RunError."""
    return run_records.read_config(run_dir)


def read_report(run_dir: str | os.PathLike[str]) -> RunReport:
    """Return the run's ``report.json``. Raises RunError when it is missing (run not ended)."""
    return run_records.read_report(run_dir)


def read_history(run_dir: str | os.PathLike[str]) -> RunHistory:
    """Return ``history.csv``, one row per finished epoch (empty before the first).

    ``epoch`` is 0-based, as Keras' CSVLogger writes it; ``.frame()`` gives a DataFrame.
    Raises DamagedRunFile when the file is not CSVLogger's table.
    """
    return run_records.read_history(run_dir)


def read_progress(
    run_dir: str | os.PathLike[str], offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Return the progress records appended after byte ``offset``, and the offset to pass next.

    Reads only the new bytes; a last line without its newline (being written) is left for the
    next call. No file yet gives ``([], offset)``.
    """
    path = Path(run_dir) / PROGRESS
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    records = []
    for line in data[:end].splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue  # a torn line from a killed writer: skip it, keep the rest
    return records, offset + end


def request_stop(run_dir: str | os.PathLike[str]) -> None:
    """Ask the run's trainer to stop at the next batch boundary (it then evaluates and saves).

    Writes the ``STOP`` file the trainer watches. Raises RunError when ``run_dir`` is not a run.
    """
    folder = Path(run_dir)
    if not is_run_dir(folder):
        raise RunError(f"{folder}: not a run directory (no {STATUS} or {CONFIG})")
    (folder / STOP).write_text(f"stop requested at {time.time():.3f}\n")


def stop_requested(run_dir: str | os.PathLike[str]) -> bool:
    """Whether a stop request is pending for the run."""
    return (Path(run_dir) / STOP).exists()


def delete_run(run_dir: str | os.PathLike[str]) -> None:
    """Delete a run directory (a damaged one too). Raises RunError for a folder that is not a
    run or a live run."""
    folder = Path(run_dir)
    if not is_run_dir(folder):
        raise RunError(f"{folder}: not a run directory (no {STATUS} or {CONFIG}); not deleted")
    try:
        state = read_status(folder).state
    except RunError:
        state = None
    if state in ACTIVE_STATES:
        raise RunError(f"{folder}: the run is {state}; stop it before deleting it")
    shutil.rmtree(folder)


@dataclass(frozen=True)
class RunSummary:
    """One line of the runs table. ``damage`` says what is wrong with a damaged run (e.g.
    ``"status.json is not valid JSON (...)"``), whose ``state`` is then ``"damaged"`` if its
    status cannot be read; the fields that could be read are filled in."""

    run_id: str
    path: Path
    started: float | None
    dataset: str | None
    mode: str | None
    model: str | None
    epochs: int | None
    epochs_done: int
    state: str
    accuracy: float | None
    error: str | None
    damage: str | None = None

    @property
    def label(self) -> str:
        """The state as a listing shows it: ``damaged: <what>`` for a damaged run."""
        return f"damaged: {self.damage}" if self.damage else self.state


def summarize_run(run_dir: str | os.PathLike[str]) -> RunSummary:
    """Return the summary of one run. Never raises for a run's files: one that is not written
    yet is left out, a damaged one is named in ``damage``."""
    folder = Path(run_dir)
    damages: list[str] = []
    status: RunStatus | None = None
    config: RunConfig | None = None
    report: RunReport | None = None
    history = RunHistory()
    try:
        status = read_status(folder)
    except DamagedRunFile as error:
        damages.append(error.damage)
    except RunError:
        if (folder / CONFIG).exists():
            damages.append(f"{STATUS} is missing")
    try:
        config = read_config(folder)
    except DamagedRunFile as error:
        damages.append(error.damage)
    except RunError:
        pass  # not written yet: the run is starting
    if (folder / REPORT).exists():
        try:
            report = read_report(folder)
        except RunError as error:
            damages.append(getattr(error, "damage", str(error)))
    try:
        history = read_history(folder)
    except DamagedRunFile as error:
        damages.append(error.damage)
    accuracy = report.accuracy if report is not None else history.last("val_accuracy")
    settings = config.settings if config is not None else None
    return RunSummary(
        run_id=folder.name,
        path=folder,
        started=(status.started if status else None) or (config.created if config else None),
        dataset=config.train.path.name if config else None,
        mode=settings.mode if settings else None,
        model=settings.model if settings else None,
        epochs=(settings.epochs if settings else None) or (status.epochs if status else None),
        epochs_done=status.epoch if status else history.epochs,
        state=status.state if status else ("damaged" if damages else "unknown"),
        accuracy=accuracy,
        error=status.error if status else None,
        damage="; ".join(damages) or None,
    )


def list_runs(runs_dir: str | os.PathLike[str] | None = None) -> list[RunSummary]:
    """Return the runs under ``runs_dir`` (default: ``default_runs_dir()``), newest first.

    A damaged run is listed too, marked (``damage``); it never hides the others.
    """
    folder = Path(runs_dir) if runs_dir is not None else default_runs_dir()
    if not folder.is_dir():
        return []
    summaries = [summarize_run(child) for child in folder.iterdir() if is_run_dir(child)]
    return sorted(summaries, key=lambda run: (run.started or 0.0, run.run_id), reverse=True)
