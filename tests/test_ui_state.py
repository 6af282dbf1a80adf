"""The chosen dataset travels in the page's URL, so a reload or a shared link keeps it."""

from __future__ import annotations

from pathlib import Path

from ui_fixtures import app_test, write_flowers

from ui.state import (
    DATASET_KEY,
    DatasetChoice,
    bundled_dataset,
    dataset_from_query,
    dataset_query,
)


def other_dataset(data_dir: Path) -> DatasetChoice:
    train, test = write_flowers(data_dir / "mine", train_rows=12)
    return DatasetChoice(train, test, None, "flowers_train.csv + flowers_test.csv")


def test_query_names_files_relative_to_the_data_folder(data_dir: Path) -> None:
    choice = DatasetChoice(data_dir / "mine" / "a.csv", None, (8, 8, 3), "a.csv")
    assert dataset_query(choice) == {"train": "mine/a.csv", "shape": "8x8x3"}


def test_bundled_dataset_needs_no_query(data_dir: Path) -> None:
    assert dataset_query(bundled_dataset()) == {}


def test_query_round_trips_to_the_same_files(data_dir: Path) -> None:
    choice = other_dataset(data_dir)
    restored = dataset_from_query(dataset_query(choice))
    assert restored is not None
    assert (restored.train_path, restored.test_path) == (choice.train_path, choice.test_path)


def test_query_leading_outside_the_data_folder_is_ignored(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.csv").write_text("0,1,2,3\n")
    assert dataset_from_query({"train": "../secret.csv"}) is None
    assert dataset_from_query({"train": str(tmp_path / "secret.csv")}) is None
    assert dataset_from_query({"train": "missing.csv"}) is None


def test_reload_with_the_query_opens_the_chosen_dataset(data_dir: Path) -> None:
    choice = other_dataset(data_dir)
    app = app_test(timeout=30)
    app.query_params.update(dataset_query(choice))
    app.run()
    assert not app.exception
    assert app.session_state[DATASET_KEY].train_path == choice.train_path
    training = next(item for item in app.metric if item.label == "Training images")
    assert training.value == "12"


def test_choosing_a_dataset_puts_it_in_the_url(data_dir: Path) -> None:
    choice = other_dataset(data_dir)
    app = app_test(timeout=30)
    app.session_state[DATASET_KEY] = choice
    app.run()
    assert not app.exception
    assert app.query_params["train"] == "mine/flowers_train.csv"
    assert app.query_params["test"] == "mine/flowers_test.csv"
