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
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import psutil

from flowerdash import run_records, runs
from flowerdash.errors import RunError
from flowerdash.run_records import RESUMABLE_STATES, RunStatus
from flowerdash.train.engine import TrainJob

_LOCK_NAME = ".launch.lock"


class TrainingAlreadyRunning(RunError):
    """A second training was asked for while one runs; ``run_dir`` is the running one."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        super().__init__(
            f"a training is already running in {run_dir} (one at a time per runs folder): "
            "wait for it to finish or stop it first"
        )


def run_state(run_dir: Path) -> str | None:
    """Return a run's state as ``runs.read_status`` derives it, or None when none can be read
    (not recorded yet, or damaged)."""
    try:
        return runs.read_status(run_dir).state
    except RunError:
        return None


def is_active(run_dir: Path) -> bool:
    """Return whether the run's process is recorded active and still alive."""
    return run_state(run_dir) in runs.ACTIVE_STATES


def active_run(runs_dir: Path) -> Path | None:
    """Return the run directory of the training running under ``runs_dir``, if any (a damaged
    run is never the active one)."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return None
    for child in sorted(runs_dir.iterdir(), reverse=True):
        if child.is_dir() and (child / runs.STATUS).exists() and is_active(child):
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


def _recorded(run_dir: Path) -> RunStatus | None:
    try:
        return run_records.read_recorded_status(run_dir)
    except RunError:
        return None


def _record_queued(run_dir: Path, pid: int, previous: RunStatus | None) -> None:
    """Record ``queued`` with the child's pid, unless the child has already written its state."""
    current = _recorded(run_dir)
    if current is not None and current.pid == pid:
        return
    try:
        pid_started: float | None = psutil.Process(pid).create_time()
    except psutil.Error:
        pid_started = None
    now = time.time()
    run_records.write_status(
        run_dir,
        RunStatus(
            state="queued",
            pid=pid,
            pid_started=pid_started,
            started=(previous.started if previous else None) or now,
            updated=now,
            epoch=previous.epoch if previous else 0,
            epochs=previous.epochs if previous else None,
        ),
    )


def last_log_line(run_dir: Path) -> str:
    """Return the last non-empty line of the run's ``train.log`` ("" when there is none)."""
    try:
        lines = (Path(run_dir) / runs.LOG).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return next((line.strip() for line in reversed(lines) if line.strip()), "")


def _reap(process: subprocess.Popen[bytes], run_dir: Path, previous: RunStatus | None) -> None:
    """Wait for the child (so it leaves no zombie that looks alive). If it failed before
    recording its own state: a new run is recorded ``failed`` with the last line of its log; a
    resume puts back the status the run had (nothing of it was changed), with that message as
    its ``error``, so it can be resumed once the problem is fixed."""
    code = process.wait()
    status = _recorded(run_dir)
    if code > 0 and status is not None and status.state == "queued" and status.pid == process.pid:
        message = last_log_line(run_dir) or f"the training process exited with code {code}"
        if previous is not None:
            run_records.write_status(run_dir, previous.changed(error=message))
        else:
            run_records.write_status(run_dir, status.changed(state="failed", error=message))


def _spawn(command: Sequence[str], run_dir: Path, previous: RunStatus | None = None) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    token = run_records.run_token(run_dir)
    if token:
        env[run_records.RESERVED_ENV] = token
    with (run_dir / runs.LOG).open("ab") as log:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    _record_queued(run_dir, process.pid, previous)
    threading.Thread(
        target=_reap, args=(process, run_dir, previous), name=f"reap-{run_dir.name}", daemon=True
    ).start()


def training_command(
    job: TrainJob, run_id: str, runs_dir: Path, *, python: str | None = None
) -> list[str]:
    """Return the command line that trains ``job`` into ``runs_dir/run_id``."""
    from flowerdash.train.options import job_arguments

    return [
        python or sys.executable,
        "-m",
        "flowerdash",
        "train",
        *job_arguments(job),
        "--run-id",
        run_id,
        "--runs-dir",
        str(runs_dir),
    ]


def start_training(
    job: TrainJob,
    runs_dir: Path,
    *,
    run_id: str | None = None,
    python: str | None = None,
) -> Path:
    """Start ``python -m flowerdash train`` on ``job`` in the background.

    Returns the new run directory (made atomically, reserved for that process), which holds
    ``status.json`` (``queued``) and ``train.log`` on return. Raises TrainingAlreadyRunning
    when a training runs under ``runs_dir`` already, RunError when ``run_id`` is taken.
    """
    runs_dir = Path(runs_dir).resolve()
    with _launch_lock(runs_dir):
        running = active_run(runs_dir)
        if running is not None:
            raise TrainingAlreadyRunning(running)
        run_dir = run_records.reserve_run_dir(runs_dir, run_id)
        _spawn(training_command(job, run_dir.name, runs_dir, python=python), run_dir)
    return run_dir


def resume_training(
    run_dir: Path,
    *,
    epochs: int | None = None,
    previous_backup: bool = False,
    python: str | None = None,
) -> Path:
    """Resume a stopped or interrupted run in its own directory (``train --resume RUN_DIR``),
    optionally with a new total of ``epochs`` (or from the previous backup).

    The run's config and backup are checked first (the same checks the trainer makes), so a
    run that cannot resume is refused here and left as it was. Raises RunError when the run
    is in another state or cannot resume (the message says what to do instead),
    TrainingAlreadyRunning when a training runs under the same runs folder.
    """
    from flowerdash.train.engine import resume_point

    run_dir = Path(run_dir).resolve()
    status = runs.read_status(run_dir)
    if status.state not in RESUMABLE_STATES:
        raise RunError(
            f"{run_dir}: cannot resume a run that is {status.state} "
            f"(expected one of: {', '.join(sorted(RESUMABLE_STATES))})"
        )
    resume_point(run_dir, runs.read_config(run_dir), use_previous_backup=previous_backup)
    with _launch_lock(run_dir.parent):
        running = active_run(run_dir.parent)
        if running is not None:
            raise TrainingAlreadyRunning(running)
        command = [python or sys.executable, "-m", "flowerdash", "train", "--resume", str(run_dir)]
        if epochs is not None:
            command += ["--epochs", str(epochs)]
        if previous_backup:
            command.append("--previous-backup")
        previous = run_records.read_recorded_status(run_dir)
        _spawn(command, run_dir, previous)
    return run_dir
