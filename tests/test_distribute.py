"""Data-parallel training: options, shards, and equivalence with one device (in subprocesses:
the backend and the logical devices are fixed when a process starts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from train_fixtures import write_image_csv
from ui_fixtures import app_test

from flowerdash import runs
from flowerdash.data.shards import (
    RowSubset,
    expand_train_files,
    load_files,
    pad_rows,
    shard_rows,
)
from flowerdash.errors import ConfigError, DatasetError
from flowerdash.train import distribute
from flowerdash.train.distribute import DistributeOptions, resolve_options

REPO_ROOT = Path(__file__).resolve().parent.parent
STEPS_SCRIPT = Path(__file__).resolve().parent / "distributed_steps.py"
#: Losses after each step may differ by float32 summation order only (mean of replica means,
#: all-reduce vs one reduction): 1e-5 relative. A wrong batch split or shard moves them by 1e-2.
LOSS_TOLERANCE = 1e-5
CLASSES = ["cat", "dog", "fox"]


# -- options -----------------------------------------------------------------------------------
def test_processes_take_count_index_and_coordinator_from_the_environment() -> None:
    environ = {
        "FLOWERDASH_COORDINATOR": "node1:12355",
        "FLOWERDASH_NUM_PROCESSES": "4",
        "FLOWERDASH_PROCESS_ID": "3",
    }
    options = resolve_options("processes", environ=environ)
    assert (options.coordinator, options.num_processes, options.process_id) == ("node1:12355", 4, 3)
    assert not options.chief and not options.launches_locally


def test_processes_fall_back_on_slurm_task_count_and_rank() -> None:
    environ = {"FLOWERDASH_COORDINATOR": "n1:1", "SLURM_NTASKS": "8", "SLURM_PROCID": "0"}
    options = resolve_options("processes", environ=environ)
    assert (options.num_processes, options.process_id, options.chief) == (8, 0, True)


def test_flags_override_the_environment() -> None:
    options = resolve_options(
        "processes", num_processes=2, environ={"FLOWERDASH_NUM_PROCESSES": "9"}
    )
    assert options.num_processes == 2 and options.launches_locally


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"num_processes": 1}, "at least 2"),
        ({"num_processes": 2, "process_id": 2, "coordinator": "h:1"}, "--process-id"),
        ({"num_processes": 2, "process_id": 1}, "both --coordinator"),
        ({"num_processes": 2, "process_id": 1, "coordinator": "host"}, "HOST:PORT"),
    ],
)
def test_inconsistent_process_options_are_refused(values: dict, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        DistributeOptions("processes", **values)


def test_a_run_resumes_with_its_recorded_mode_and_process_count() -> None:
    record = {"mode": "processes", "processes": 3, "cpu_devices": 0}
    options = distribute.resume_options(record, environ={})
    assert (options.mode, options.num_processes, options.launches_locally) == ("processes", 3, True)
    assert distribute.resume_options({}, environ={}).mode == "none"


# -- shards ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rows", "count"), [(27, 2), (10, 3), (2, 2), (1000, 7)])
def test_shards_are_disjoint_and_cover_every_row(rows: int, count: int) -> None:
    shards = [shard_rows(rows, count, index) for index in range(count)]
    together = np.concatenate(shards)
    assert len(together) == rows and sorted(together) == list(range(rows))
    assert max(map(len, shards)) - min(map(len, shards)) <= 1


def test_a_short_shard_is_padded_with_its_own_rows() -> None:
    short = shard_rows(27, 2, 1)  # 13 rows
    padded = pad_rows(short, 14)
    assert len(padded) == 14 and set(padded) == set(short)


def test_row_subset_reads_only_its_rows() -> None:
    images = np.arange(10 * 2).reshape(10, 2)
    subset = RowSubset(images, np.array([1, 3, 5]))
    assert len(subset) == 3 and subset.shape == (3, 2)
    assert subset[np.array([0, 2])].tolist() == [[2, 3], [10, 11]]
    assert np.asarray(subset).tolist() == [[2, 3], [6, 7], [10, 11]]


def test_a_glob_names_its_files_in_order(tmp_path: Path) -> None:
    for name in ("train-002.csv", "train-000.csv", "train-001.csv", "other.csv"):
        (tmp_path / name).write_text("")
    assert [p.name for p in expand_train_files(tmp_path / "train-*.csv")] == [
        "train-000.csv",
        "train-001.csv",
        "train-002.csv",
    ]
    with pytest.raises(DatasetError, match="no file matches"):
        expand_train_files(tmp_path / "nothing-*.csv")


def test_a_glob_of_shard_files_reads_as_one_dataset(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FLOWERDASH_CACHE_DIR", str(tmp_path / "cache"))
    parts = [
        write_image_csv(tmp_path / "train-0.csv", ["cat", "dog"] * 2, seed=1),
        write_image_csv(
            tmp_path / "train-1.csv", ["fox"] * 3, seed=2, palette=["cat", "dog", "fox"]
        ),
        write_image_csv(tmp_path / "train-2.csv", ["dog"], seed=3),
    ]
    whole = load_files(tmp_path / "train-*.csv")
    singles = [load_files(path) for path in parts]
    assert len(whole) == 8 and whole.classes == ["cat", "dog", "fox"]
    expected = np.concatenate([np.asarray(single.images) for single in singles])
    assert np.array_equal(np.asarray(whole.images), expected)
    assert whole.labels.tolist() == [label for s in singles for label in s.labels.tolist()]
    assert np.array_equal(whole.images[np.array([3, 4, 7])], expected[[3, 4, 7]])
    second_of_two = load_files(tmp_path / "train-*.csv", part=(1, 2))  # file 1 only
    assert second_of_two.labels.tolist() == ["fox"] * 3
    with pytest.raises(DatasetError, match="each process needs a file"):
        load_files(tmp_path / "train-*.csv", part=(0, 4))


def test_inspect_summarises_a_glob_of_shard_files(tmp_path: Path) -> None:
    for index in range(2):
        write_image_csv(tmp_path / f"train-{index}.csv", ["cat", "dog"] * (index + 1), seed=index)
    result = subprocess.run(
        [sys.executable, "-m", "flowerdash", "inspect", str(tmp_path / "train-*.csv"), "--json"],
        cwd=REPO_ROOT,
        env={**os.environ, "FLOWERDASH_CACHE_DIR": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(result.stdout)
    assert summary["rows"] == 6 and summary["class_counts"] == {"cat": 3, "dog": 3}


# -- equivalence with one device (subprocesses) ------------------------------------------------
def _start(args: Sequence[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, str(STEPS_SCRIPT), *args],
            cwd=REPO_ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; killed and reaped at teardown, pass or fail."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def _finish(started: list[subprocess.Popen[bytes]], logs: Sequence[Path]) -> None:
    for process, log in zip(started, logs, strict=True):
        code = process.wait(timeout=600)
        assert code == 0, log.read_text(errors="replace")[-3000:]


def _losses(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.mark.slow
def test_two_logical_devices_take_the_steps_of_one_device(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    env = {"KERAS_BACKEND": "tensorflow", "STEPS_ROWS": "24"}  # every batch splits evenly
    logs = [tmp_path / "one.log", tmp_path / "two.log"]
    processes.append(_start(["none", "dense", str(tmp_path / "one.json")], env, logs[0]))
    processes.append(_start(["devices", "dense", str(tmp_path / "two.json")], env, logs[1]))
    _finish(processes, logs)
    one, two = _losses(tmp_path / "one.json"), _losses(tmp_path / "two.json")
    assert len(one["losses"]) == len(two["losses"]) == 8  # 2 epochs of 4 steps
    np.testing.assert_allclose(two["losses"], one["losses"], rtol=LOSS_TOLERANCE)


@pytest.mark.slow
def test_two_processes_take_the_steps_of_one_process_fed_both_shards(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    cluster = {
        "KERAS_BACKEND": "jax",
        "FLOWERDASH_COORDINATOR": distribute.free_local_address(),
        "FLOWERDASH_NUM_PROCESSES": "2",
    }
    out = str(tmp_path / "two.json")
    logs = [tmp_path / "one.log", tmp_path / "p0.log", tmp_path / "p1.log"]
    processes.append(
        _start(
            ["none", "dense", str(tmp_path / "one.json"), "2"], {"KERAS_BACKEND": "jax"}, logs[0]
        )
    )
    for index in (0, 1):
        env = {**cluster, "FLOWERDASH_PROCESS_ID": str(index)}
        processes.append(_start(["processes", "dense", out], env, logs[1 + index]))
    _finish(processes, logs)
    one, two = _losses(tmp_path / "one.json"), _losses(tmp_path / "two.json")
    assert len(two["losses"]) == 10  # 2 epochs of 5 steps: 27 rows, 14 per process, 3 a step
    np.testing.assert_allclose(two["losses"], one["losses"], rtol=LOSS_TOLERANCE)
    first, second = (set(rows) for rows in two["rows"])
    assert first.isdisjoint(second) and first | second == set(range(27))


# -- the command line: one run directory, written by process 0 ---------------------------------
@pytest.mark.slow
def test_two_local_processes_write_one_complete_run_directory(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    train = write_image_csv(tmp_path / "train.csv", CLASSES * 6, seed=1)
    test = write_image_csv(tmp_path / "test.csv", CLASSES * 2, seed=2)
    log = tmp_path / "cli.log"
    with log.open("wb") as out:
        processes.append(
            subprocess.Popen(
                [
                    sys.executable, "-m", "flowerdash", "train", "--train", str(train),
                    "--test", str(test), "--recipe", "tutorial", "--epochs", "1",
                    "--batch-size", "6", "--no-augment", "--mix", "mixup",
                    "--distribute", "processes", "--num-processes", "2",
                    "--runs-dir", os.environ["FLOWERDASH_RUNS_DIR"], "--run-id", "r",
                    "--verbose", "2",
                ],
                cwd=REPO_ROOT,
                env={**os.environ, "FLOWERDASH_CACHE_DIR": str(tmp_path / "cache")},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
    _finish(processes, [log])
    run = Path(os.environ["FLOWERDASH_RUNS_DIR"]) / "r"
    assert runs.read_status(run).state == "finished"
    config = runs.read_config(run)
    assert config.distribute["processes"] == 2 and config.distribute["devices"] == 2
    assert config.distribute["backend"] == "jax"
    assert config.settings.mix == "mixup"  # each process mixes the batches of its own shard
    assert runs.read_history(run).epochs == 1
    report = runs.read_report(run)
    assert report.count == 6 and len(report.predictions) == 6  # each test image once
    assert (run / runs.MODEL).exists() and (run / runs.PLOT).exists()
    assert "run directory" in (run / "train.1.log").read_text()
    assert not (run / runs.BACKUP).exists()
    results = app_test("pages/4_Results.py").run()  # the dashboard shows it like any run
    assert not results.exception
    assert results.metric[0].value == f"{report.accuracy:.1%}"
