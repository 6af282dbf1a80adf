"""Issue #12, dashboard side: odd paths typed or in the URL, and odd upload names, give an
``st.error`` (or are stored safely); the page keeps working and a reload works."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from ui_fixtures import TRAIN_ROWS, app_test

from flowerdash.dataset_files import (
    NAME_LIMIT,
    list_dataset_files,
    resolve_data_path,
    safe_file_name,
    store_upload,
)
from flowerdash.errors import DatasetError
from ui.state import DATASET_KEY

LONG_NAME = "n" * 300 + ".csv"


@pytest.fixture
def odd_data_dir(data_dir: Path) -> Path:
    """The test data folder plus a symbolic link loop, a dangling link and a FIFO."""
    (data_dir / "loop.csv").symlink_to("loop.csv")
    (data_dir / "a.csv").symlink_to("b.csv")
    (data_dir / "b.csv").symlink_to("a.csv")
    (data_dir / "cycle").symlink_to(".")  # a folder link back to data/ itself
    (data_dir / "gone.csv").symlink_to("nowhere.csv")
    os.mkfifo(data_dir / "pipe.csv")
    (data_dir / "folder.csv").mkdir()
    return data_dir


BAD_PATHS = [
    (".", "is a folder"),
    ("data", "is a folder"),
    ("loop.csv", "loop of symbolic links"),
    ("a.csv", "loop of symbolic links"),
    ("gone.csv", "no such file"),
    ("pipe.csv", r"named pipe \(FIFO\)"),
    ("folder.csv", "is a folder"),
    ("flowers\0train.csv", "NUL byte"),
    (LONG_NAME, "longer than 255 bytes"),
    ("sub/" + LONG_NAME, "longer than 255 bytes"),
]


@pytest.mark.parametrize(("typed", "expected"), BAD_PATHS)
def test_odd_paths_raise_only_a_dataset_error_saying_why(odd_data_dir, typed, expected):
    with pytest.raises(DatasetError, match=expected):
        resolve_data_path(typed, odd_data_dir)


def test_listing_a_data_folder_with_loops_and_pipes_lists_the_real_files(odd_data_dir):
    assert list_dataset_files(odd_data_dir) == ["flowers_test.csv", "flowers_train.csv"]


def _data_page(query: dict[str, str] | None = None) -> AppTest:
    app = app_test("pages/1_Data.py", 30)
    if query:
        app.query_params.update(query)
    return app.run()


@pytest.mark.parametrize(
    ("train", "expected"),
    [(".", "is a folder"), ("loop.csv", "loop"), ("x\0.csv", "NUL byte"), (LONG_NAME, "255")],
)
def test_an_odd_path_in_the_url_shows_an_error_and_a_reload_works(odd_data_dir, train, expected):
    app = _data_page({"train": train})
    assert not app.exception
    assert expected in app.error[0].value
    assert "address was not opened" in app.error[0].value
    assert "train" not in app.query_params  # the address is reset to the default dataset
    # the page still works (bundled dataset shown), and reopening it is clean
    assert next(m.value for m in app.metric if m.label == "Training images") == str(TRAIN_ROWS)
    app.run()
    assert not app.exception and not app.error
    reload = _data_page(dict(app.query_params))
    assert not reload.exception and not reload.error


@pytest.mark.parametrize(("typed", "expected"), [(".", "is a folder"), (LONG_NAME, "255")])
def test_an_odd_typed_path_shows_an_error_and_the_page_keeps_working(odd_data_dir, typed, expected):
    app = _data_page()
    app.radio(key="data.source").set_value("A file inside data/").run()
    app.text_input(key="data.path_train").input(typed)
    app.button[0].click().run()
    assert not app.exception
    assert expected in app.error[0].value and app.error[0].value.startswith("Not loaded")
    assert next(m.value for m in app.metric if m.label == "Training images") == str(TRAIN_ROWS)
    app.text_input(key="data.path_train").input("flowers_train.csv")
    app.button[0].click().run()
    assert not app.exception and not app.error


def test_upload_names_over_255_bytes_or_only_a_suffix_are_stored_safely(tmp_path):
    content = b"a,1\nb,2\n"
    long_stored = store_upload(LONG_NAME, content, tmp_path)
    assert len(long_stored.name.encode()) <= NAME_LIMIT and long_stored.name.endswith(".csv")
    assert store_upload(".csv", content, tmp_path / "u").name == "upload.csv"
    assert safe_file_name(".csv.gz") == "upload.csv.gz"
    assert safe_file_name("ü" * 200 + ".CSV") == "_.CSV"


def test_an_upload_with_a_300_character_name_loads(data_dir):
    app = _data_page()
    app.radio(key="data.source").set_value("Upload CSV files").run()
    content = (data_dir / "flowers_test.csv").read_bytes()
    app.file_uploader[0].set_value((LONG_NAME, content, "text/csv"))
    app.run()
    app.button[0].click().run()
    assert not app.exception and not app.error
    stored = app.session_state[DATASET_KEY].train_path
    assert len(stored.name) <= NAME_LIMIT and stored.suffix == ".csv"
