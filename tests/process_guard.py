"""The processes a test run starts: marked, stopped after each test, and checked for at the end.

``mark_this_run()`` puts a fresh id in ``$FLOWERDASH_TEST_RUN``; every process the tests start
(trainings through the dashboard, the launcher or the CLI, Streamlit servers, browsers) inherits
it, so this run's processes can be told apart from those of other test runs on the same machine.
``stop_trainings()`` stops the trainings still running under this process (a test's teardown);
``leftover_processes()`` finds any process of this run still alive (the session's end).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import uuid
from collections.abc import Iterable, Sequence

import psutil

MARKER = "FLOWERDASH_TEST_RUN"
#: Seconds a stopped training gets to save and exit before it is killed.
STOP_GRACE_S = 15.0


def mark_this_run() -> str:
    """Give this test run a fresh id in ``$FLOWERDASH_TEST_RUN`` (inherited by every child)."""
    os.environ[MARKER] = uuid.uuid4().hex
    return os.environ[MARKER]


def is_training(command: Sequence[str]) -> bool:
    """Whether a command line is a ``flowerdash train`` (``python -m flowerdash train ...`` or the
    ``flowerdash`` script)."""
    return any(
        word.endswith("flowerdash") and following == "train"
        for word, following in itertools.pairwise(command)
    )


def _command(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def running_trainings() -> list[psutil.Process]:
    """The ``flowerdash train`` processes started under this process (children at any depth,
    e.g. started by a Streamlit server this process runs)."""
    try:
        children = psutil.Process().children(recursive=True)
    except psutil.Error:
        return []
    return [child for child in children if _alive(child) and is_training(_command(child))]


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _signal(processes: Iterable[psutil.Process], number: signal.Signals) -> None:
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.send_signal(number)


def stop(processes: Sequence[psutil.Process], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM ``processes`` (a training saves and exits), SIGKILL those still alive after
    ``grace_s``, and wait for them (which reaps our own children)."""
    _signal(processes, signal.SIGTERM)
    _, alive = psutil.wait_procs(processes, timeout=grace_s)
    _signal(alive, signal.SIGKILL)
    psutil.wait_procs(alive, timeout=5)


def stop_trainings() -> list[str]:
    """Stop and reap every training still running under this process; return their command
    lines (empty when there was none)."""
    trainings = running_trainings()
    commands = [" ".join(_command(process)) for process in trainings]
    stop(trainings)
    return commands


def leftover_processes() -> list[psutil.Process]:
    """Every live process (but this one) carrying this run's ``$FLOWERDASH_TEST_RUN``."""
    marker = os.environ.get(MARKER)
    if not marker:
        return []
    found = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            if process.environ().get(MARKER) == marker and _alive(process):
                found.append(process)
        except psutil.Error:  # gone, a zombie, or another user's process
            continue
    return found


def describe(processes: Iterable[psutil.Process]) -> list[str]:
    """One line per process: its pid and command line."""
    return [f"pid {process.pid}: {' '.join(_command(process)) or '?'}" for process in processes]
