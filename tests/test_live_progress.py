"""Following progress.jsonl: only new lines, a resume replacing a cut epoch, the ETA."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowerdash.live_progress import LiveProgress, format_duration, summarize


def _append(run_dir: Path, *records: dict, end: str = "\n") -> None:
    with (run_dir / "progress.jsonl").open("a") as handle:
        handle.write("".join(json.dumps(r) + "\n" for r in records[:-1]))
        handle.write(json.dumps(records[-1]) + end)


def _batch(epoch: int, batch: int, time: float = 0.0, batches: int = 4) -> dict:
    return {"kind": "batch", "epoch": epoch, "batch": batch, "batches": batches, "time": time}


def _epoch(epoch: int, time: float = 0.0) -> dict:
    return {"kind": "epoch", "epoch": epoch, "batch": 4, "batches": 4, "time": time}


def test_update_reads_only_lines_appended_since_the_last_call(tmp_path):
    progress = LiveProgress(tmp_path)
    _append(tmp_path, _batch(1, 1), _batch(1, 2))
    assert progress.update() == 2
    _append(tmp_path, _batch(1, 3))
    assert progress.update() == 1
    assert [r["batch"] for r in progress.batches] == [1, 2, 3]


def test_update_leaves_a_line_being_written_for_the_next_call(tmp_path):
    progress = LiveProgress(tmp_path)
    _append(tmp_path, _batch(1, 1), _batch(1, 2), end="")
    assert progress.update() == 1
    with (tmp_path / "progress.jsonl").open("a") as handle:
        handle.write("\n")
    assert progress.update() == 1


def test_update_sorts_epoch_records_apart_from_batch_records(tmp_path):
    progress = LiveProgress(tmp_path)
    _append(tmp_path, _batch(1, 4), _epoch(1))
    progress.update()
    assert len(progress.batches) == 1
    assert progress.epochs[0]["epoch"] == 1


def test_a_resumed_run_replaces_the_records_of_the_epoch_it_was_cut_in(tmp_path):
    progress = LiveProgress(tmp_path)
    _append(tmp_path, _batch(1, 4), _epoch(1), _batch(2, 1), _batch(2, 2))
    _append(tmp_path, _batch(2, 1), _batch(2, 2), _batch(2, 3))  # after the resume
    progress.update()
    assert [(r["epoch"], r["batch"]) for r in progress.batches] == [(1, 4), (2, 1), (2, 2), (2, 3)]
    assert [r["epoch"] for r in progress.epochs] == [1]


def test_summary_gives_position_fraction_and_eta_from_the_time_per_batch(tmp_path):
    progress = LiveProgress(tmp_path)
    _append(tmp_path, _batch(1, 1, time=100.0), _batch(1, 3, time=104.0))
    progress.update()
    summary = summarize(progress, epochs=2)
    assert (summary.epoch, summary.batch, summary.batches) == (1, 3, 4)
    assert summary.fraction == pytest.approx(3 / 8)
    assert summary.eta_seconds == pytest.approx(2.0 * 5)


def test_summary_is_none_before_the_first_record(tmp_path):
    assert summarize(LiveProgress(tmp_path), epochs=3) is None


def test_durations_read_as_hours_minutes_or_seconds():
    assert [format_duration(s) for s in (42, 185, 3720, None)] == [
        "42 s",
        "3 min 05 s",
        "1 h 02 min",
        "?",
    ]
