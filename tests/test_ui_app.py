"""Home page (AppTest): what the tool is, the dataset in use, the way through, recent runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from run_fixtures import write_finished_run
from streamlit.testing.v1 import AppTest
from ui_fixtures import TRAIN_ROWS, app_test


def home() -> AppTest:
    return app_test(timeout=30).run()


def test_home_shows_the_bundled_dataset_without_any_upload(data_dir: Path) -> None:
    app = home()
    assert not app.exception
    assert not app.error
    training = next(item for item in app.metric if item.label == "Training images")
    assert training.value == str(TRAIN_ROWS)


def test_home_links_the_pages_in_order(data_dir: Path) -> None:
    app = home()
    labels = [link.proto.label for link in app.main.get("page_link")]
    assert labels[:2] == ["1. Data", "2. Augmentation"]


def test_home_says_how_to_build_a_missing_bundled_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWERDASH_DATA_DIR", str(tmp_path / "empty"))
    app = home()
    assert not app.exception
    assert "make data" in app.warning[0].value


def test_home_without_runs_points_to_the_train_page(data_dir: Path) -> None:
    app = home()
    assert any("No training runs yet" in item.value for item in app.caption)


def test_home_lists_recent_runs(data_dir: Path, tmp_path: Path, monkeypatch) -> None:
    runs = tmp_path / "runs"
    write_finished_run(runs, run_id="20260101-120000-abcd")
    monkeypatch.setenv("FLOWERDASH_RUNS_DIR", str(runs))
    app = home()
    table = app.dataframe[0].value
    assert table["run"].tolist() == ["20260101-120000-abcd"]
    assert table["state"].tolist() == ["finished"]
