"""Shared test set-up: every test runs with its own cache and runs folders, never the user's;
no training outlives its test, and no process outlives the test run (it fails if one does)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import process_guard
import psutil
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# The real CSV files as people publish them live beside the repository (../shared); CI has them.
# $FLOWERDASH_REAL_CSV_DIR points elsewhere (a checkout that is not beside ../shared).
REAL_CSV_DIR = Path(
    os.environ.get("FLOWERDASH_REAL_CSV_DIR")
    or REPO_ROOT.parent / "shared" / "data" / "real_csv_formats"
)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Set before any test starts a process, so every process of this run carries it.
process_guard.mark_this_run()


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point the binary cache, the runs and the uploads folders at fresh temporary folders."""
    base = tmp_path_factory.mktemp("flowerdash-home")
    monkeypatch.setenv("FLOWERDASH_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("FLOWERDASH_RUNS_DIR", str(base / "runs"))
    monkeypatch.setenv("FLOWERDASH_UPLOADS_DIR", str(base / "uploads"))
    yield


@pytest.fixture(autouse=True)
def _no_training_left() -> Iterator[None]:
    """Stop and reap, pass or fail, every training a test started (through the dashboard, the
    launcher or the CLI) and left running. Set up before, so torn down after, the test's own
    fixtures."""
    yield
    process_guard.stop_trainings()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run, loudly, if any process it started is still alive (then kill it)."""
    leftovers = process_guard.leftover_processes()
    if leftovers:  # a process ending as the last fixtures closed gets a moment to finish
        _, leftovers = psutil.wait_procs(leftovers, timeout=5)
    if not leftovers:
        return
    lines = process_guard.describe(leftovers)
    process_guard.stop(leftovers, grace_s=5)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = [
        f"{len(lines)} process(es) started by this test run were still alive at its end "
        "(now killed); a test or fixture does not stop what it starts:",
        *lines,
    ]
    if reporter is not None:
        reporter.write_sep("=", "processes left running", red=True, bold=True)
        for line in message:
            reporter.write_line(line, red=True)
    else:
        print("\n".join(message), file=sys.stderr)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def real_csv_dir() -> Path:
    """The folder of real CSV samples; skips the test when ../shared is not beside the repo."""
    if not REAL_CSV_DIR.is_dir():
        pytest.skip(f"real CSV samples not found at {REAL_CSV_DIR}")
    return REAL_CSV_DIR


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder (``FLOWERDASH_DATA_DIR``) holding a small stand-in for the bundled flowers."""
    from ui_fixtures import write_flowers

    folder = tmp_path / "data"
    write_flowers(folder)
    monkeypatch.setenv("FLOWERDASH_DATA_DIR", str(folder))
    return folder
