"""Training as a separate process, as the dashboard runs it: stop, SIGTERM, SIGKILL, resume.

The trainings use the tutorial recipe (MiniVGGNet, SGD): what is tested here is how a process
stops, records and resumes, which is the same for every model, and that recipe starts fastest
(a residual net with AdamW takes several seconds more to trace).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from train_fixtures import write_image_csv

from flowerdash import runs

REPO_ROOT = Path(__file__).resolve().parent.parent
CLASSES = ["cat", "dog", "fox"]
pytestmark = pytest.mark.slow


def _flowerdash(*arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "flowerdash", *arguments],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _start(tmp_path: Path, run_id: str = "r") -> tuple[subprocess.Popen[str], Path]:
    train = write_image_csv(tmp_path / "train.csv", CLASSES * 8, seed=1)
    test = write_image_csv(tmp_path / "test.csv", CLASSES * 2, seed=2)
    process = _flowerdash(
        "train", "--train", str(train), "--test", str(test), "--epochs", "500",
        "--batch-size", "4", "--recipe", "tutorial", "--runs-dir", str(tmp_path / "runs"),
        "--run-id", run_id,
    )  # fmt: skip
    return process, tmp_path / "runs" / run_id


def _wait_for_epochs(run: Path, process: subprocess.Popen[str], epochs: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if json.loads((run / runs.STATUS).read_text()).get("epoch", 0) >= epochs:
                return
        except (OSError, ValueError):
            pass
        assert process.poll() is None, process.stdout.read()
        time.sleep(0.05)
    raise AssertionError("training did not reach the epoch in time")


def _resume(run: Path, epochs: int, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "flowerdash",
            "train",
            "--resume",
            str(run),
            "--epochs",
            str(epochs),
            *extra,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _assert_history_continuous(run: Path) -> None:
    epochs = pd.read_csv(run / "history.csv")["epoch"].tolist()
    assert epochs == list(range(len(epochs)))


def test_stopped_run_keeps_model_and_report_and_resumes_to_the_end_past_its_old_request(
    tmp_path,
):
    process, run = _start(tmp_path)
    _wait_for_epochs(run, process, 1)
    runs.request_stop(run)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    assert runs.read_status(run).state == "stopped"
    assert (run / "model.keras").is_file() and (run / "report.json").is_file()
    assert (run / "backup").is_dir()
    assert output.strip().splitlines()[-1] == str(run)
    # The stop request stays until a new process starts: it must not stop the resumed run.
    assert runs.stop_requested(run)
    stopped_after = len(pd.read_csv(run / "history.csv"))
    result = _resume(run, epochs=stopped_after + 1)
    assert result.returncode == 0, result.stdout + result.stderr
    assert runs.read_status(run).state == "finished"
    assert not runs.stop_requested(run)
    _assert_history_continuous(run)
    assert len(pd.read_csv(run / "history.csv")) == stopped_after + 1
    assert runs.read_config(run).settings.epochs == stopped_after + 1


def test_sigterm_ends_the_run_stopped(tmp_path):
    process, run = _start(tmp_path)
    _wait_for_epochs(run, process, 1)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    assert runs.read_status(run).state == "stopped"
    assert runs.read_report(run).count == 6


def test_sigkilled_run_reads_interrupted_and_resumes_with_continuous_history(tmp_path):
    process, run = _start(tmp_path)
    _wait_for_epochs(run, process, 2)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    assert runs.read_status(run).state == "interrupted"
    done = runs.read_status(run).epoch
    result = _resume(run, epochs=done + 2)
    if result.returncode == 2 and "--previous-backup" in result.stderr:
        # The kill landed while an epoch's backup was being written: the resume says so and
        # changes nothing; resuming from the previous backup, as the message offers, works.
        assert runs.read_status(run).state == "interrupted"
        result = _resume(run, done + 2, "--previous-backup")
    assert result.returncode == 0, result.stdout + result.stderr
    assert runs.read_status(run).state == "finished"
    _assert_history_continuous(run)
    assert len(pd.read_csv(run / "history.csv")) == done + 2


def test_stop_requested_while_the_run_is_starting_ends_it_stopped(tmp_path):
    from flowerdash import launcher
    from flowerdash.train.options import job_from_arguments

    train = write_image_csv(tmp_path / "train.csv", CLASSES * 8, seed=1)
    test = write_image_csv(tmp_path / "test.csv", CLASSES * 2, seed=2)
    arguments = ["--train", str(train), "--test", str(test), "--epochs", "500"]
    arguments += ["--recipe", "tutorial"]
    run = launcher.start_training(job_from_arguments(arguments), tmp_path / "runs", run_id="early")
    assert runs.read_status(run).state == "queued"
    runs.request_stop(run)  # before the trainer has even imported Keras
    deadline = time.monotonic() + 180
    while runs.read_status(run).state in runs.ACTIVE_STATES:
        assert time.monotonic() < deadline, (run / runs.LOG).read_text()
        time.sleep(0.2)
    assert runs.read_status(run).state == "stopped", (run / runs.LOG).read_text()
    assert len(pd.read_csv(run / "history.csv")) == 1
