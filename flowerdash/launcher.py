"""Starting training as a separate process, one at a time per runs folder.

The dashboard never trains in its own process: it starts ``python -m flowerdash train ...`` in
a new session (so it outlives page reloads and even the server), with its output going to the
run's ``train.log``, and from then on only reads the run directory. The run directory is the
truth: any tab, reload or page finds the live run with ``active_run``.

Before the process has written anything, the launcher records ``queued`` with the child's pid,
so readers show the run at once and report it ``interrupted`` (not running forever) should the
process die before it gets going. A process that exits with an error before writing its own
state is recorded ``failed`` with the last line of its log.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import psutil

from flowerdash import runs
from flowerdash.errors import RunError
from flowerdash.settings import ParamSpec

#: States of a run whose process is alive (``runs.read_status`` reports dead ones interrupted).
ACTIVE_STATES = runs.ACTIVE_STATES
#: States a run can be resumed from.
RESUMABLE_STATES = frozenset({"stopped", "interrupted"})
LOG_NAME = runs.LOG
STATUS_NAME = runs.STATUS
_LOCK_NAME = ".launch.lock"


class TrainingAlreadyRunning(RunError):
    """A second training was asked for while one runs; ``run_dir`` is the running one."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        super().__init__(
            f"a training is already running in {run_dir} (one at a time per runs folder): "
            "wait for it to finish or stop it first"
        )


def new_run_id() -> str:
    """Return a fresh run id: the UTC start time, sortable, plus a short random suffix."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)


def run_state(run_dir: Path) -> str | None:
    """Return a run's state as ``runs.read_status`` derives it, or None if none is recorded."""
    try:
        return runs.read_status(run_dir).get("state")
    except (RunError, OSError, ValueError):
        return None


def is_active(run_dir: Path) -> bool:
    """Return whether the run's process is recorded active and still alive."""
    return run_state(run_dir) in ACTIVE_STATES


def active_run(runs_dir: Path) -> Path | None:
    """Return the run directory of the training running under ``runs_dir``, if any."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return None
    for child in sorted(runs_dir.iterdir(), reverse=True):
        if child.is_dir() and (child / STATUS_NAME).exists() and is_active(child):
            return child
    return None


@contextlib.contextmanager
def _launch_lock(runs_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the runs folder, so two Start clicks cannot both start."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    with (runs_dir / _LOCK_NAME).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _record_queued(run_dir: Path, pid: int) -> None:
    """Record ``queued`` with the child's pid, unless the child has already written its state."""
    path = run_dir / STATUS_NAME
    current = _read_json(path)
    if current is not None and current.get("pid") == pid:
        return
    now = time.time()
    try:
        pid_started: float | None = psutil.Process(pid).create_time()
    except psutil.Error:
        pid_started = None
    runs.write_json_atomic(
        path,
        {
            "state": "queued",
            "pid": pid,
            "pid_started": pid_started,
            "error": None,
            "started": now,
            "updated": now,
            "finished": None,
            "epoch": (current or {}).get("epoch", 0),
            "epochs": (current or {}).get("epochs"),
        },
    )


def last_log_line(run_dir: Path) -> str:
    """Return the last non-empty line of the run's ``train.log`` ("" when there is none)."""
    try:
        lines = (Path(run_dir) / LOG_NAME).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return next((line.strip() for line in reversed(lines) if line.strip()), "")


def _reap(process: subprocess.Popen[bytes], run_dir: Path) -> None:
    """Wait for the child (so it leaves no zombie that looks alive); if it failed before
    recording its own state, record ``failed`` with the last line of its log."""
    code = process.wait()
    status = _read_json(run_dir / STATUS_NAME) or {}
    if code > 0 and status.get("state") == "queued" and status.get("pid") == process.pid:
        now = time.time()
        message = last_log_line(run_dir) or f"the training process exited with code {code}"
        runs.write_json_atomic(
            run_dir / STATUS_NAME,
            {**status, "state": "failed", "error": message, "updated": now, "finished": now},
        )


def _spawn(command: Sequence[str], run_dir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with (run_dir / LOG_NAME).open("ab") as log:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    _record_queued(run_dir, process.pid)
    threading.Thread(
        target=_reap, args=(process, run_dir), name=f"reap-{run_dir.name}", daemon=True
    ).start()
    return process


def settings_arguments(specs: Sequence[ParamSpec], values: Mapping[str, Any]) -> list[str]:
    """Return the ``train`` command-line options for ``values`` of the declared ``specs``.

    A bool setting becomes ``--name`` or ``--no-name``; any other ``--name VALUE``. Names
    missing from ``values`` are left to the command's defaults.
    """
    arguments: list[str] = []
    for spec in specs:
        if spec.name not in values:
            continue
        value = values[spec.name]
        if spec.kind == "bool":
            arguments.append(spec.cli_flag if value else "--no-" + spec.cli_flag[2:])
        else:
            arguments += [spec.cli_flag, str(value)]
    return arguments


def training_command(
    train_arguments: Sequence[str], run_id: str, runs_dir: Path, *, python: str | None = None
) -> list[str]:
    """Return the command line that trains with ``train_arguments`` into ``runs_dir/run_id``."""
    return [
        python or sys.executable,
        "-m",
        "flowerdash",
        "train",
        *train_arguments,
        "--run-id",
        run_id,
        "--runs-dir",
        str(runs_dir),
    ]


def start_training(
    train_arguments: Sequence[str],
    runs_dir: Path,
    *,
    run_id: str | None = None,
    python: str | None = None,
) -> Path:
    """Start ``python -m flowerdash train`` with ``train_arguments`` in the background.

    Returns the new run directory, which holds ``status.json`` (``queued``) and ``train.log``
    on return. Raises TrainingAlreadyRunning when a training runs under ``runs_dir`` already.
    """
    runs_dir = Path(runs_dir).resolve()
    with _launch_lock(runs_dir):
        running = active_run(runs_dir)
        if running is not None:
            raise TrainingAlreadyRunning(running)
        run_id = run_id or new_run_id()
        run_dir = runs_dir / run_id
        run_dir.mkdir(parents=True, exist_ok=False)
        _spawn(training_command(train_arguments, run_id, runs_dir, python=python), run_dir)
    return run_dir


def resume_training(run_dir: Path, *, epochs: int | None = None, python: str | None = None) -> Path:
    """Resume a stopped or interrupted run in its own directory (``train --resume RUN_DIR``),
    optionally with a new total of ``epochs``.

    Raises RunError when the run is in another state, TrainingAlreadyRunning when a training
    runs under the same runs folder.
    """
    run_dir = Path(run_dir).resolve()
    state = run_state(run_dir)
    if state not in RESUMABLE_STATES:
        raise RunError(
            f"{run_dir}: cannot resume a run that is {state or 'unknown'} "
            f"(expected one of: {', '.join(sorted(RESUMABLE_STATES))})"
        )
    with _launch_lock(run_dir.parent):
        running = active_run(run_dir.parent)
        if running is not None:
            raise TrainingAlreadyRunning(running)
        command = [python or sys.executable, "-m", "flowerdash", "train", "--resume", str(run_dir)]
        if epochs is not None:
            command += ["--epochs", str(epochs)]
        _spawn(command, run_dir)
    return run_dir
