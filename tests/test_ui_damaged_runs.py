"""Pages with a damaged run beside good ones: each page keeps working and shows the damaged one
marked; the Runs page deletes it. The damage is made by hand, as a crash would leave it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from run_fixtures import snapshot, write_finished_run
from ui_fixtures import app_test

GOOD = "20260101-120000-good"
BROKEN = "20260102-120000-torn"


@pytest.fixture
def runs_folder() -> Path:
    folder = Path(os.environ["FLOWERDASH_RUNS_DIR"])
    write_finished_run(folder, GOOD)
    write_finished_run(folder, BROKEN)  # the newest: every page would pick it first
    return folder


def _damage(runs_folder: Path, name: str, content: bytes) -> dict[str, bytes]:
    (runs_folder / BROKEN / name).write_bytes(content)
    return snapshot(runs_folder / GOOD)


@pytest.mark.parametrize(
    ("name", "content", "shown"),
    [
        ("status.json", b"[1, 2]", "damaged: status.json holds a list"),
        ("config.json", b'{"settings": {', "damaged: config.json is not valid JSON"),
        ("history.csv", b"\xff\xfe garbage\n", "damaged: history.csv is not UTF-8"),
    ],
)
def test_runs_page_lists_a_damaged_run_marked_and_the_good_one_intact(
    runs_folder, name, content, shown
):
    good_files = _damage(runs_folder, name, content)
    page = app_test("pages/6_Runs.py").run()
    assert not page.exception
    table = page.dataframe[0].value.set_index("run")
    assert table.loc[BROKEN, "state"].startswith(shown)
    assert table.loc[GOOD, "state"] == "finished"
    assert snapshot(runs_folder / GOOD) == good_files


def test_runs_page_deletes_a_damaged_run(runs_folder):
    _damage(runs_folder, "status.json", b'{"state": "runn')
    page = app_test("pages/6_Runs.py").run()
    page.selectbox(key="runs.manage").select(BROKEN)
    page.button(key="runs.delete").click().run()
    page.button(key=f"runs.confirm.{BROKEN}").click().run()
    assert not page.exception
    assert not (runs_folder / BROKEN).exists()
    assert page.dataframe[0].value["run"].tolist() == [GOOD]


def test_train_page_shows_the_damaged_newest_run_marked(runs_folder):
    _damage(runs_folder, "status.json", b"[1, 2]")
    page = app_test("pages/3_Train.py").run()
    assert not page.exception
    assert any("damaged: status.json holds a list" in error.value for error in page.error)
    assert page.button(key="train.start")  # starting a new run still works


def test_results_page_marks_a_damaged_report_and_shows_the_good_run(runs_folder):
    _damage(runs_folder, "report.json", b'{"classes": [')
    page = app_test("pages/4_Results.py").run()
    assert not page.exception
    assert "report.json is not valid JSON" in page.error[0].value
    page.selectbox(key="results.run").select(GOOD).run()
    assert not page.exception and not page.error
    assert page.metric[0].label == "Test accuracy"


def test_predict_page_marks_a_damaged_config(runs_folder):
    for run_id in (GOOD, BROKEN):
        (runs_folder / run_id / "model.keras").write_bytes(b"not read by this test")
    _damage(runs_folder, "config.json", b"[1, 2]")
    page = app_test("pages/5_Predict.py").run()
    assert not page.exception
    assert "config.json holds a list" in page.error[0].value
    assert any("damaged" in option for option in page.selectbox(key="predict.run").options)
