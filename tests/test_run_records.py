"""The run directory's typed records, and what a damaged run does to readers: each failure is
made by corrupting files by hand, and each test shows that nothing else was lost."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from run_fixtures import snapshot, write_finished_run, write_stopped_run

from flowerdash import launcher, run_records, runs
from flowerdash.errors import ConfigError, RunError
from flowerdash.files import atomic_write, write_json_atomic
from flowerdash.run_records import DamagedRunFile
from flowerdash.train import resume_training

DAMAGE = {
    "a list in status.json": ("status.json", b"[1, 2]", "status.json holds a list"),
    "a list in config.json": ("config.json", b"[1, 2]", "config.json holds a list"),
    "a truncated status.json": ("status.json", b'{"state": "fini', "status.json is not valid JSON"),
    "a truncated report.json": ("report.json", b'{"classes": [', "report.json is not valid JSON"),
    "garbage in history.csv": ("history.csv", b"hello\nworld\n", "history.csv does not start"),
    "history.csv not UTF-8": ("history.csv", b"epoch,loss\n\xff\xfe\n", "history.csv is not UTF-8"),
}


@pytest.fixture
def three_runs(tmp_path: Path) -> Path:
    runs_dir = tmp_path / "runs"
    for run_id in ("20260101-100000-aaaa", "20260101-110000-bbbb", "20260101-120000-cccc"):
        write_finished_run(runs_dir, run_id)
    return runs_dir


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_run_is_listed_marked_and_the_others_are_intact(three_runs, case):
    name, content, damage = DAMAGE[case]
    broken = three_runs / "20260101-110000-bbbb"
    (broken / name).write_bytes(content)
    others = {p.name: snapshot(p) for p in three_runs.iterdir() if p.is_dir() and p != broken}
    listed = {run.run_id: run for run in runs.list_runs(three_runs)}
    assert len(listed) == 3
    assert listed[broken.name].label.startswith(f"damaged: {damage}")
    for run_id in others:
        assert (listed[run_id].state, listed[run_id].damage) == ("finished", None)
        assert listed[run_id].accuracy is not None
    assert launcher.active_run(three_runs) is None
    assert others == {p: snapshot(three_runs / p) for p in others}


def test_reading_a_damaged_file_names_it_and_what_was_expected(tmp_path):
    run_dir = write_finished_run(tmp_path)
    (run_dir / "status.json").write_text(json.dumps({"pid": 3}))
    with pytest.raises(DamagedRunFile, match=r"status\.json has no 'state'"):
        runs.read_status(run_dir)
    (run_dir / "status.json").write_text(json.dumps({"state": "finished", "epoch": "two"}))
    with pytest.raises(DamagedRunFile, match=r"the text 'two' for 'epoch', expected a whole"):
        runs.read_status(run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    del config["data"]["test"]
    (run_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(DamagedRunFile, match=r"config\.json has no 'test' in data"):
        runs.read_config(run_dir)


def test_a_missing_file_is_a_run_error_not_damage(tmp_path):
    with pytest.raises(RunError, match="not found") as error:
        runs.read_report(tmp_path)
    assert not isinstance(error.value, DamagedRunFile)


def test_unknown_config_keys_are_kept_when_the_config_is_written_back(tmp_path):
    run_dir = write_finished_run(tmp_path)
    config = json.loads((run_dir / "config.json").read_text())
    config["distribution"] = {"workers": 2}
    config["data"]["shards"] = 4
    (run_dir / "config.json").write_text(json.dumps(config))
    run_records.write_config(run_dir, runs.read_config(run_dir))
    written = json.loads((run_dir / "config.json").read_text())
    assert written["distribution"] == {"workers": 2} and written["data"]["shards"] == 4


def test_status_written_and_read_back_is_the_same(tmp_path):
    status = run_records.RunStatus(state="stopped", pid=12, epoch=3, epochs=5, error=None)
    run_records.write_status(tmp_path, status)
    assert run_records.read_recorded_status(tmp_path) == status


def test_history_keeps_whole_rows_and_trims_to_an_epoch(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("epoch,accuracy,loss\n0,0.5,1.0\n1,0.6,0.9\n2,0.7,0.")  # last row torn
    history = run_records.read_history_file(path)
    assert history.epochs == 2 and history.last("accuracy") == 0.6
    assert run_records.RunHistory.parse(history.up_to(1).to_csv(), path).epochs == 1


def test_atomic_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "status.json"
    target.write_text("old")

    def fail(path: Path) -> None:
        path.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, fail)
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]
    assert target.read_text() == "old"
    write_json_atomic(target, {"x": 1})
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]


def test_only_one_of_many_simultaneous_creators_gets_a_run_id(tmp_path):
    start = threading.Barrier(8)
    won, refused = [], []

    def create() -> None:
        start.wait()
        try:
            won.append(run_records.create_run_dir(tmp_path, "same"))
        except RunError as error:
            refused.append(str(error))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and len(refused) == 7
    assert "exists already; pick another --run-id" in refused[0]


def test_fresh_run_ids_do_not_collide(tmp_path):
    made = {run_records.create_run_dir(tmp_path).name for _ in range(20)}
    assert len(made) == 20


# -- resume never destroys data --------------------------------------------------------------


def _resume_refused(run_dir: Path, **options) -> str:
    before, epochs = snapshot(run_dir), runs.read_history(run_dir).epochs
    with pytest.raises((RunError, ConfigError)) as refused:
        resume_training(run_dir, **options)
    assert snapshot(run_dir) == before, "a refused resume changed the run"
    assert runs.read_history(run_dir).epochs == epochs > 0
    return str(refused.value)


def test_resume_with_unreadable_backup_metadata_keeps_history_and_says_what_to_do(tmp_path):
    run_dir = write_stopped_run(tmp_path)
    (run_dir / "backup" / "training_metadata.json").write_bytes(b'{"epoch": 2, "ba')
    message = _resume_refused(run_dir)
    assert "backup/training_metadata.json is not valid JSON" in message
    assert "Nothing was changed" in message
    assert f"--resume {run_dir} --previous-backup" in message and "after epoch 1" in message
    assert "start again with its settings: flowerdash train --train" in message
    assert runs.read_status(run_dir).state == "stopped"  # still resumable


def test_resume_with_truncated_weights_and_no_previous_backup_offers_a_fresh_start(tmp_path):
    run_dir = write_stopped_run(tmp_path)
    for name in ("latest.weights.h5.bkp", "training_metadata.json.bkp"):
        (run_dir / "backup" / name).unlink()
    weights = run_dir / "backup" / "latest.weights.h5"
    weights.write_bytes(weights.read_bytes()[:100])
    message = _resume_refused(run_dir)
    assert "backup/latest.weights.h5 is not a readable weights file" in message
    assert "--previous-backup" not in message and "flowerdash train --train" in message


def test_resume_with_a_garbage_history_log_is_refused(tmp_path):
    run_dir = write_stopped_run(tmp_path)
    (run_dir / ".history.keras.csv").write_bytes(b"\x00\xff garbage")
    assert ".history.keras.csv is not UTF-8" in _resume_refused(run_dir)


def test_resume_without_backup_but_with_history_is_refused(tmp_path):
    run_dir = write_stopped_run(tmp_path)
    for file in (run_dir / "backup").iterdir():
        file.unlink()
    assert "its backup (backup/) is gone but history.csv holds 2 epochs" in _resume_refused(run_dir)


def test_resume_from_the_previous_backup_when_there_is_none_is_refused(tmp_path):
    run_dir = write_stopped_run(tmp_path, epochs_done=1)
    message = _resume_refused(run_dir, previous_backup=True)
    assert "from its previous backup: there is none intact" in message


def test_restoring_the_previous_backup_makes_it_current(tmp_path):
    run_dir = write_stopped_run(tmp_path)
    (run_dir / "backup" / "training_metadata.json").write_text("{")
    assert run_records.read_backup(run_dir).previous_epoch == 1
    assert run_records.restore_previous_backup(run_dir) == 1
    assert run_records.read_backup(run_dir).epoch == 1


def test_a_config_summary_says_what_the_run_trains(tmp_path: Path) -> None:
    run_dir = write_finished_run(tmp_path / "runs")
    config = run_records.read_config(run_dir)
    assert config.summary() == (
        f"{config.train.path.name} ({config.train.rows} images) · minivggnet, memory mode · "
        "2 epochs of batch 32 · sgd lr 0.01 · augmented"
    )
    spread = replace(config, distribute={"mode": "processes", "devices": 2, "processes": 2})
    assert spread.summary().endswith(" · 2 device(s) in 2 process(es)")
