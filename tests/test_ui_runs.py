"""The Runs page: the table, the overlay, deleting a run after confirmation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from run_fixtures import write_finished_run
from streamlit.testing.v1 import AppTest
from ui_fixtures import app_test


@pytest.fixture
def runs_folder() -> Path:
    folder = Path(os.environ["FLOWERDASH_RUNS_DIR"])
    write_finished_run(folder, "20260101-120000-aaaa", epochs=2)
    write_finished_run(folder, "20260102-120000-bbbb", epochs=3)
    return folder


def _runs_page() -> AppTest:
    return app_test("pages/6_Runs.py").run()


def test_runs_table_lists_every_run_with_state_and_accuracy(runs_folder):
    table = _runs_page().dataframe[0].value
    assert sorted(table["run"]) == ["20260101-120000-aaaa", "20260102-120000-bbbb"]
    assert set(table["state"]) == {"finished"}
    assert table["accuracy"].round(3).tolist() == [0.667, 0.667]


def test_overlay_draws_one_validation_curve_per_chosen_run(runs_folder):
    page = _runs_page()
    chart = next(c for c in page.get("plotly_chart") if c.key == "runs.overlay_chart")
    assert chart.proto.spec.count('"name":"2026') == 2


def test_delete_needs_confirmation(runs_folder):
    page = _runs_page()
    page.selectbox(key="runs.manage").select("20260101-120000-aaaa")
    page.button(key="runs.delete").click().run()
    assert (runs_folder / "20260101-120000-aaaa").exists()
    assert "cannot be undone" in page.warning[0].value


def test_confirmed_delete_removes_the_run(runs_folder):
    page = _runs_page()
    page.selectbox(key="runs.manage").select("20260101-120000-aaaa")
    page.button(key="runs.delete").click().run()
    page.button(key="runs.confirm.20260101-120000-aaaa").click().run()
    assert not (runs_folder / "20260101-120000-aaaa").exists()
    assert page.dataframe[0].value["run"].tolist() == ["20260102-120000-bbbb"]


def test_delete_acts_on_the_run_chosen_with_the_click_and_named_in_the_question(runs_folder):
    page = _runs_page()
    page.selectbox(key="runs.manage").select("20260101-120000-aaaa")
    page.button(key="runs.delete").click().run()
    # Another run chosen and "Delete…" clicked in the same interaction: the question is for it.
    page.selectbox(key="runs.manage").select("20260102-120000-bbbb")
    page.button(key="runs.delete").click().run()
    assert "20260102-120000-bbbb" in page.warning[0].value
    page.button(key="runs.confirm.20260102-120000-bbbb").click().run()
    assert page.dataframe[0].value["run"].tolist() == ["20260101-120000-aaaa"]


def test_cancelled_delete_keeps_the_run(runs_folder):
    page = _runs_page()
    page.button(key="runs.delete").click().run()
    page.button(key="runs.cancel").click().run()
    assert len(page.dataframe[0].value) == 2
    assert not page.warning


def test_open_in_train_shows_the_chosen_run_on_the_train_page(runs_folder):
    page = _runs_page()
    page.selectbox(key="runs.manage").select("20260101-120000-aaaa")
    page.button(key="runs.open").click().run()
    assert "Run 20260101-120000-aaaa" in [s.value for s in page.subheader]
