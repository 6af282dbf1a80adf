"""Reading run directories: list, status (with ``interrupted`` derived), history, progress, report.

The run directory contract is in docs/architecture.md; ``flowerdash.train`` writes it and this
module only reads it (plus the two requests a reader may make: ``request_stop`` and
``delete_run``). No Keras or TensorFlow here: the dashboard polls these functions.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowerdash.errors import RunError

if TYPE_CHECKING:
    import pandas as pd

CONFIG = "config.json"
STATUS = "status.json"
PROGRESS = "progress.jsonl"
HISTORY = "history.csv"
MODEL = "model.keras"
REPORT = "report.json"
PLOT = "plot.png"
LOG = "train.log"
STOP = "STOP"
BACKUP = "backup"

#: Recorded states whose process should be alive; dead ones read as ``interrupted``.
ACTIVE_STATES = frozenset({"queued", "running", "stopping"})
FINAL_STATES = frozenset({"finished", "stopped", "failed"})
HISTORY_COLUMNS = ["epoch", "accuracy", "learning_rate", "loss", "val_accuracy", "val_loss"]


def default_runs_dir() -> Path:
    """The runs folder: ``$FLOWERDASH_RUNS_DIR`` if set, else ``runs`` in the working folder."""
    return Path(os.environ.get("FLOWERDASH_RUNS_DIR") or "runs")


def write_json_atomic(path: str | os.PathLike[str], value: Any) -> None:
    """Write ``value`` as JSON so that a reader sees the old file or the new one, never half."""
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=1, allow_nan=False, default=str)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise RunError(f"{path}: not found (is {path.parent} a run directory?)") from None
    except ValueError as error:
        raise RunError(f"{path}: not valid JSON ({error})") from None


def is_run_dir(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a folder holding a run's ``status.json`` or ``config.json``."""
    folder = Path(path)
    return (folder / STATUS).is_file() or (folder / CONFIG).is_file()


def process_alive(pid: int | None, started: float | None = None) -> bool:
    """Whether process ``pid`` runs (zombies count as dead).

    ``started`` (the process's create time, seconds since the epoch) guards against a reused
    pid: a process created more than two seconds later is someone else.
    """
    if not pid:
        return False
    import psutil

    try:
        process = psutil.Process(int(pid))
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or process.create_time() <= float(started) + 2.0
    except (psutil.Error, ValueError, OverflowError):
        return False


def read_status(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the run's ``status.json`` with its state as readers should see it.

    A recorded active state (queued, running, stopping) whose process is gone is reported as
    ``interrupted`` (``recorded_state`` keeps what the file says). Raises RunError when there
    is no readable status.
    """
    status = _read_json(Path(run_dir) / STATUS)
    state = status.get("state")
    if state in ACTIVE_STATES and not process_alive(status.get("pid"), status.get("pid_started")):
        status = {**status, "recorded_state": state, "state": "interrupted"}
    return status


def read_config(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the run's ``config.json`` (settings, data, classes, versions). Raises RunError."""
    return _read_json(Path(run_dir) / CONFIG)


def read_report(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the run's ``report.json``. Raises RunError when it is missing (run not ended)."""
    return _read_json(Path(run_dir) / REPORT)


def read_history(run_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Return ``history.csv`` as a DataFrame, one row per finished epoch (empty before the first).

    ``epoch`` is 0-based, as Keras' CSVLogger writes it.
    """
    import pandas as pd

    path = Path(run_dir) / HISTORY
    try:
        frame = pd.read_csv(path)
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return pd.DataFrame({name: pd.Series(dtype=float) for name in HISTORY_COLUMNS})
    return frame


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
    """Delete a run directory. Raises RunError for a folder that is not a run or a live run."""
    folder = Path(run_dir)
    if not is_run_dir(folder):
        raise RunError(f"{folder}: not a run directory (no {STATUS} or {CONFIG}); not deleted")
    try:
        state = read_status(folder).get("state")
    except RunError:
        state = None
    if state in ACTIVE_STATES:
        raise RunError(f"{folder}: the run is {state}; stop it before deleting it")
    shutil.rmtree(folder)


@dataclass(frozen=True)
class RunSummary:
    """One line of the runs table."""

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


def _final_accuracy(folder: Path) -> float | None:
    try:
        report = read_report(folder)
    except RunError:
        report = None
    if report and isinstance(report.get("accuracy"), int | float):
        return float(report["accuracy"])
    try:
        last = (folder / HISTORY).read_text().strip().splitlines()
    except OSError:
        return None
    if len(last) < 2:
        return None
    header, row = last[0].split(","), last[-1].split(",")
    if "val_accuracy" in header and len(row) == len(header):
        try:
            return float(row[header.index("val_accuracy")])
        except ValueError:
            return None
    return None


def summarize_run(run_dir: str | os.PathLike[str]) -> RunSummary:
    """Return the summary of one run (tolerates a run whose files are not all written yet)."""
    folder = Path(run_dir)
    try:
        status = read_status(folder)
    except RunError:
        status = {"state": "unknown"}
    try:
        config = read_config(folder)
    except RunError:
        config = {}
    settings = config.get("settings", {})
    train = config.get("data", {}).get("train", {})
    return RunSummary(
        run_id=folder.name,
        path=folder,
        started=status.get("started") or config.get("created"),
        dataset=Path(train["path"]).name if train.get("path") else None,
        mode=settings.get("mode"),
        model=settings.get("model"),
        epochs=settings.get("epochs") or status.get("epochs"),
        epochs_done=int(status.get("epoch") or 0),
        state=str(status.get("state")),
        accuracy=_final_accuracy(folder),
        error=status.get("error"),
    )


def list_runs(runs_dir: str | os.PathLike[str] | None = None) -> list[RunSummary]:
    """Return the runs under ``runs_dir`` (default: ``default_runs_dir()``), newest first."""
    folder = Path(runs_dir) if runs_dir is not None else default_runs_dir()
    if not folder.is_dir():
        return []
    summaries = [summarize_run(child) for child in folder.iterdir() if is_run_dir(child)]
    return sorted(summaries, key=lambda run: (run.started or 0.0, run.run_id), reverse=True)
