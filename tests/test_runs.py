"""Reading run directories (no training here: the files are written by hand)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flowerdash import runs
from flowerdash.errors import RunError
from flowerdash.files import write_json_atomic


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _make_run(folder: Path, *, state: str, pid: int | None, started: float = 1.0) -> Path:
    folder.mkdir(parents=True)
    write_json_atomic(
        folder / runs.STATUS,
        {"state": state, "pid": pid, "error": None, "started": started, "epoch": 1, "epochs": 2},
    )
    write_json_atomic(
        folder / runs.CONFIG,
        {
            "settings": {"mode": "stream", "model": "minivggnet", "epochs": 2},
            "augment": {},
            "data": {
                "train": {"path": "/data/flowers_train.csv"},
                "test": {"path": "/data/flowers_test.csv"},
            },
            "classes": ["daisy", "rose"],
            "shape": [64, 64, 3],
        },
    )
    return folder


def test_running_state_with_a_live_process_reads_as_running(tmp_path):
    run = _make_run(tmp_path / "r", state="running", pid=os.getpid())
    assert runs.read_status(run).state == "running"


def test_running_state_with_a_dead_process_reads_as_interrupted(tmp_path):
    run = _make_run(tmp_path / "r", state="running", pid=_dead_pid())
    status = runs.read_status(run)
    assert (status.state, status.recorded_state) == ("interrupted", "running")


def test_reused_pid_started_after_the_run_reads_as_interrupted(tmp_path):
    run = _make_run(tmp_path / "r", state="running", pid=os.getpid())
    status = json.loads((run / runs.STATUS).read_text())
    write_json_atomic(run / runs.STATUS, {**status, "pid_started": 1000.0})
    assert runs.read_status(run).state == "interrupted"


def test_finished_state_is_reported_as_recorded_whatever_the_process(tmp_path):
    run = _make_run(tmp_path / "r", state="finished", pid=_dead_pid())
    assert runs.read_status(run).state == "finished"


def test_missing_status_is_a_run_error(tmp_path):
    with pytest.raises(RunError, match=r"status\.json"):
        runs.read_status(tmp_path)


def test_read_progress_returns_only_complete_new_lines(tmp_path):
    path = tmp_path / runs.PROGRESS
    path.write_text('{"kind": "batch", "batch": 1}\n{"kind": "batch", "ba')
    records, offset = runs.read_progress(tmp_path, 0)
    assert records == [{"kind": "batch", "batch": 1}]
    with path.open("a") as handle:
        handle.write('tch": 2}\n{"kind": "epoch", "epoch": 1}\n')
    records, offset = runs.read_progress(tmp_path, offset)
    assert [record["kind"] for record in records] == ["batch", "epoch"]
    assert runs.read_progress(tmp_path, offset) == ([], offset)


def test_read_progress_without_a_file_returns_nothing(tmp_path):
    assert runs.read_progress(tmp_path, 0) == ([], 0)


def test_read_history_before_the_first_epoch_is_empty_with_the_contract_columns(tmp_path):
    history = runs.read_history(tmp_path)
    assert history.epochs == 0
    assert list(history.frame().columns) == list(runs.HISTORY_COLUMNS)


def test_request_stop_writes_the_stop_file(tmp_path):
    run = _make_run(tmp_path / "r", state="running", pid=os.getpid())
    runs.request_stop(run)
    assert runs.stop_requested(run)


def test_request_stop_outside_a_run_is_a_run_error(tmp_path):
    with pytest.raises(RunError, match="not a run directory"):
        runs.request_stop(tmp_path)


def test_delete_run_removes_an_ended_run(tmp_path):
    run = _make_run(tmp_path / "r", state="stopped", pid=None)
    runs.delete_run(run)
    assert not run.exists()


def test_delete_run_refuses_a_live_run(tmp_path):
    run = _make_run(tmp_path / "r", state="running", pid=os.getpid())
    with pytest.raises(RunError, match="running"):
        runs.delete_run(run)
    assert run.exists()


def test_delete_run_refuses_a_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(RunError, match="not a run directory"):
        runs.delete_run(tmp_path)
    assert (tmp_path / "keep.txt").exists()


def test_list_runs_is_newest_first_with_summary_fields(tmp_path):
    _make_run(tmp_path / "old", state="finished", pid=None, started=time.time() - 60)
    newest = _make_run(tmp_path / "new", state="running", pid=_dead_pid(), started=time.time())
    (newest / runs.HISTORY).write_text(
        "epoch,accuracy,learning_rate,loss,val_accuracy,val_loss\n0,0.5,0.01,1.2,0.625,1.1\n"
    )
    (tmp_path / "not-a-run").mkdir()
    listed = runs.list_runs(tmp_path)
    assert [run.run_id for run in listed] == ["new", "old"]
    assert listed[0].state == "interrupted"
    assert (listed[0].dataset, listed[0].mode, listed[0].epochs) == (
        "flowers_train.csv",
        "stream",
        2,
    )
    assert listed[0].accuracy == 0.625


def test_list_runs_of_a_missing_folder_is_empty(tmp_path):
    assert runs.list_runs(tmp_path / "nothing") == []


def test_write_json_atomic_leaves_no_temporary_file(tmp_path):
    write_json_atomic(tmp_path / "a.json", {"x": 1})
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_the_dashboard_and_the_cli_share_one_default_runs_folder(tmp_path, monkeypatch):
    from ui import state

    monkeypatch.delenv("FLOWERDASH_RUNS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert runs.default_runs_dir() == state.runs_dir() == tmp_path.resolve() / "runs"
    monkeypatch.setenv("FLOWERDASH_RUNS_DIR", str(tmp_path / "elsewhere"))
    assert runs.default_runs_dir() == state.runs_dir() == tmp_path.resolve() / "elsewhere"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_a_process_whose_main_thread_ended_first_runs_until_its_last_thread_ends():
    # As a killed trainer's main thread turns zombie before TensorFlow's threads have exited
    # (its files, and HDF5's lock on the backup, stay open until the last one ends).
    code = (
        "import ctypes, threading, time\n"
        "threading.Thread(target=time.sleep, args=(30,)).start()\n"
        "ctypes.CDLL(None).pthread_exit(None)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 30
        while not Path(f"/proc/{process.pid}/stat").read_text().split(") ")[1].startswith("Z"):
            assert time.monotonic() < deadline, "the main thread did not end"
            time.sleep(0.05)
        assert runs.process_alive(process.pid)
    finally:
        process.kill()
        process.wait()
    assert not runs.process_alive(process.pid)
