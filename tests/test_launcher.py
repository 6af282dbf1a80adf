"""Launching training in the background: run folder at once, one at a time, dead processes."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from run_fixtures import snapshot, write_stopped_run
from train_fixtures import write_image_csv

from flowerdash import launcher, runs
from flowerdash.errors import RunError
from flowerdash.files import write_json_atomic
from flowerdash.train import TrainJob
from flowerdash.train.options import job_from_arguments

#: A job for the stand-in trainers below (they ignore their options).
JOB = TrainJob(Path("train.csv"), Path("test.csv"))


def _fake_python(folder: Path, body: str) -> str:
    """An executable standing in for ``python``: it ignores ``-m flowerdash train ...``."""
    script = folder / "fake-python"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def _wait_for_state(run_dir: Path, wanted: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = runs.read_status(run_dir).state
        if state == wanted:
            return state
        time.sleep(0.05)
    return str(state)


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[str]:
    """A stand-in training that runs until killed; killed at the end of the test."""
    python = _fake_python(tmp_path, "exec sleep 60")
    yield python
    for run_dir in filter(runs.is_run_dir, (tmp_path / "runs").glob("*")):
        with contextlib.suppress(RunError):
            pid = runs.read_status(run_dir).pid
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)


def test_start_creates_the_run_folder_with_queued_status_and_log(tmp_path, sleeper):
    run_dir = launcher.start_training(JOB, tmp_path / "runs", run_id="r1", python=sleeper)
    assert run_dir == (tmp_path / "runs" / "r1").resolve()
    assert runs.read_status(run_dir).state == "queued"
    assert (run_dir / "train.log").exists()


def test_running_training_is_found_as_the_active_run(tmp_path, sleeper):
    run_dir = launcher.start_training(JOB, tmp_path / "runs", python=sleeper)
    assert launcher.active_run(tmp_path / "runs") == run_dir


def test_second_start_while_one_runs_is_refused_naming_the_running_one(tmp_path, sleeper):
    first = launcher.start_training(JOB, tmp_path / "runs", run_id="a", python=sleeper)
    with pytest.raises(launcher.TrainingAlreadyRunning) as refused:
        launcher.start_training(JOB, tmp_path / "runs", run_id="b", python=sleeper)
    assert refused.value.run_dir == first
    assert "already running" in str(refused.value)
    assert not (tmp_path / "runs" / "b").exists()


def test_killed_training_reads_interrupted_and_is_no_longer_active(tmp_path, sleeper):
    run_dir = launcher.start_training(JOB, tmp_path / "runs", python=sleeper)
    os.killpg(runs.read_status(run_dir).pid, signal.SIGKILL)
    assert _wait_for_state(run_dir, "interrupted") == "interrupted"
    assert launcher.active_run(tmp_path / "runs") is None


def test_process_failing_before_writing_its_state_reads_failed_with_its_last_line(tmp_path):
    python = _fake_python(
        tmp_path, 'echo "error: data.csv, line 3: expected 12 values" >&2; exit 2'
    )
    run_dir = launcher.start_training(JOB, tmp_path / "runs", python=python)
    assert _wait_for_state(run_dir, "failed") == "failed"
    assert runs.read_status(run_dir).error == "error: data.csv, line 3: expected 12 values"


def test_a_new_training_may_start_once_the_previous_one_ended(tmp_path, sleeper):
    first = launcher.start_training(JOB, tmp_path / "runs", run_id="a", python=sleeper)
    os.killpg(runs.read_status(first).pid, signal.SIGKILL)
    _wait_for_state(first, "interrupted")
    second = launcher.start_training(JOB, tmp_path / "runs", run_id="b", python=sleeper)
    assert launcher.active_run(tmp_path / "runs") == second


def test_resume_of_a_finished_run_is_refused(tmp_path):
    run_dir = tmp_path / "runs" / "done"
    run_dir.mkdir(parents=True)
    write_json_atomic(run_dir / "status.json", {"state": "finished", "pid": None})
    with pytest.raises(RunError, match="cannot resume a run that is finished"):
        launcher.resume_training(run_dir)


def test_resume_of_an_interrupted_run_restarts_it_in_the_same_folder(tmp_path, sleeper):
    run_dir = write_stopped_run(tmp_path / "runs", "cut")
    status = runs.read_status(run_dir)
    write_json_atomic(
        run_dir / "status.json", {**status.to_json(), "state": "running", "pid": 999999999}
    )
    assert launcher.resume_training(run_dir, python=sleeper) == run_dir.resolve()
    assert runs.read_status(run_dir).state == "queued"


def test_resume_that_fails_before_starting_puts_the_run_back_as_it_was(tmp_path):
    python = _fake_python(
        tmp_path, 'echo "error: train.csv changed since the run started" >&2; exit 2'
    )
    run_dir = write_stopped_run(tmp_path / "runs", "kept")
    launcher.resume_training(run_dir, python=python)
    assert _wait_for_state(run_dir, "stopped") == "stopped"
    status = runs.read_status(run_dir)
    assert (status.epoch, status.error) == (2, "error: train.csv changed since the run started")
    assert launcher.resume_training(run_dir, python=python) == run_dir.resolve()  # still can


def test_resume_with_a_damaged_backup_is_refused_and_changes_nothing(tmp_path, sleeper):
    run_dir = write_stopped_run(tmp_path / "runs", "torn")
    (run_dir / "backup" / "training_metadata.json").write_text('{"epoch": ')
    before = snapshot(run_dir)
    with pytest.raises(RunError) as refused:
        launcher.resume_training(run_dir, python=sleeper)
    message = str(refused.value)
    assert "backup/training_metadata.json is not valid JSON" in message
    assert "Nothing was changed" in message and "--previous-backup" in message
    assert "flowerdash train --train" in message  # or start again with its settings
    assert snapshot(run_dir) == before
    assert launcher.active_run(tmp_path / "runs") is None


def test_training_command_names_the_job_the_run_id_and_runs_folder(tmp_path):
    train = str(write_image_csv(tmp_path / "a.csv", ["cat", "dog"] * 4))
    job = job_from_arguments(["--train", train, "--test", train, "--epochs", "2"])
    command = launcher.training_command(job, "r7", tmp_path, python="py")
    assert command[:6] == ["py", "-m", "flowerdash", "train", "--train", train]
    assert command[command.index("--epochs") + 1] == "2"
    assert command[-4:] == ["--run-id", "r7", "--runs-dir", str(tmp_path)]
    assert job_from_arguments(command[4:-4]) == job


def test_a_run_id_in_use_is_refused_without_touching_that_run(tmp_path, sleeper):
    kept = write_stopped_run(tmp_path / "runs", "mine")
    before = snapshot(kept)
    with pytest.raises(RunError, match="exists already"):
        launcher.start_training(JOB, tmp_path / "runs", run_id="mine", python=sleeper)
    assert snapshot(kept) == before


def test_damaged_runs_are_never_the_active_one_and_do_not_stop_the_search(tmp_path, sleeper):
    live = launcher.start_training(JOB, tmp_path / "runs", run_id="a-live", python=sleeper)
    for name, content in (("z-list", "[1, 2]"), ("z-cut", '{"state": "runn')):
        (tmp_path / "runs" / name).mkdir()
        (tmp_path / "runs" / name / "status.json").write_text(content)
    assert launcher.active_run(tmp_path / "runs") == live


def _wait(predicate, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


@pytest.mark.slow
def test_killed_real_training_resumes_to_the_end_keeping_what_it_wrote(tmp_path):
    from ui_fixtures import write_flowers

    train, test = write_flowers(tmp_path / "data")
    # The tutorial recipe starts fastest; resuming does not depend on the model.
    arguments = ["--train", str(train), "--test", str(test), "--epochs", "6"]
    arguments += ["--batch-size", "8", "--mode", "memory", "--recipe", "tutorial"]
    run_dir = launcher.start_training(job_from_arguments(arguments), tmp_path / "runs")
    _wait(lambda: runs.read_history(run_dir).epochs >= 2)
    os.killpg(runs.read_status(run_dir).pid, signal.SIGKILL)
    _wait(lambda: runs.read_status(run_dir).state == "interrupted")
    before = runs.read_history(run_dir).frame()
    try:
        launcher.resume_training(run_dir)
    except RunError as refused:
        # The kill landed while an epoch's backup was being written: the refusal says so and
        # offers the previous backup, dropping the history rows after it; nothing changed.
        assert "--previous-backup" in str(refused)
        assert runs.read_history(run_dir).frame().equals(before)
        from flowerdash.train.engine import resume_point

        kept, _ = resume_point(run_dir, runs.read_config(run_dir), use_previous_backup=True)
        before = before.iloc[:kept]
        launcher.resume_training(run_dir, previous_backup=True)
    _wait(lambda: not launcher.is_active(run_dir))
    after = runs.read_history(run_dir).frame()
    status = runs.read_status(run_dir)
    log_tail = (run_dir / "train.log").read_text(errors="replace")[-2000:]
    assert status.state == "finished", f"{status.error}\n{log_tail}"
    assert after["epoch"].tolist() == list(range(6))
    assert after.iloc[: len(before)]["loss"].tolist() == before["loss"].tolist()


def test_resume_with_a_new_epoch_total_passes_it_to_the_trainer(tmp_path):
    python = _fake_python(tmp_path, 'echo "$@" >&2; exec sleep 60')
    run_dir = write_stopped_run(tmp_path / "runs", "cut")
    launcher.resume_training(run_dir, epochs=30, python=python)
    try:
        _wait_for_log(run_dir, "--epochs 30")
    finally:
        os.killpg(runs.read_status(run_dir).pid, signal.SIGKILL)


def _wait_for_log(run_dir: Path, text: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in (run_dir / "train.log").read_text():
        assert time.monotonic() < deadline, (run_dir / "train.log").read_text()
        time.sleep(0.05)
