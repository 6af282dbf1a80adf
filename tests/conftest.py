"""Shared test set-up: every test runs with its own cache and runs folders, never the user's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# The real CSV files as people publish them live beside the repository (../shared); CI has them.
REAL_CSV_DIR = REPO_ROOT.parent / "shared" / "data" / "real_csv_formats"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point the binary cache, the runs and the uploads folders at fresh temporary folders."""
    base = tmp_path_factory.mktemp("flowerdash-home")
    monkeypatch.setenv("FLOWERDASH_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("FLOWERDASH_RUNS_DIR", str(base / "runs"))
    monkeypatch.setenv("FLOWERDASH_UPLOADS_DIR", str(base / "uploads"))
    yield


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
