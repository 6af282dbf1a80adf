"""Uploads stored by content hash; typed paths confined to the data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flowerdash.dataset_files import (
    list_dataset_files,
    resolve_data_path,
    safe_file_name,
    store_upload,
    with_upload_names,
)
from flowerdash.errors import DatasetError


def test_upload_is_stored_under_its_content_hash(tmp_path: Path) -> None:
    stored = store_upload("train.csv", b"0,1,2\n", tmp_path)
    assert stored.read_bytes() == b"0,1,2\n"
    assert stored.parent.parent == tmp_path
    assert len(stored.parent.name) == 64


def test_two_different_uploads_with_one_name_do_not_overwrite_each_other(tmp_path: Path) -> None:
    first = store_upload("train.csv", b"0,1\n", tmp_path)
    second = store_upload("train.csv", b"1,2\n", tmp_path)
    assert first != second
    assert first.read_bytes() == b"0,1\n"
    assert second.read_bytes() == b"1,2\n"


def test_reupload_of_same_bytes_reuses_the_stored_file(tmp_path: Path) -> None:
    first = store_upload("train.csv", b"0,1\n", tmp_path)
    mtime = first.stat().st_mtime_ns
    second = store_upload("train.csv", b"0,1\n", tmp_path)
    assert second == first
    assert second.stat().st_mtime_ns == mtime


def test_upload_with_another_extension_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"expected a \.csv or \.csv\.gz"):
        store_upload("photo.png", b"x", tmp_path)


def test_empty_upload_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="empty"):
        store_upload("train.csv", b"", tmp_path)


def test_an_error_in_an_upload_names_the_file_as_uploaded(tmp_path: Path) -> None:
    stored = store_upload("digits.csv", b"x,1,2\n", tmp_path)
    error = DatasetError("found 'x' in column 1", path=stored, line=1)
    renamed = with_upload_names(error, {stored: "digits.csv"})
    assert str(renamed) == "digits.csv (uploaded), line 1: found 'x' in column 1"
    other = DatasetError("no such file", path=tmp_path / "elsewhere.csv")
    assert with_upload_names(other, {stored: "digits.csv"}) is other


def test_uploaded_name_loses_its_folders() -> None:
    assert safe_file_name("../../etc/passwd.csv") == "passwd.csv"
    assert safe_file_name("C:\\x\\MNIST sample.CSV") == "MNIST sample.CSV"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.csv").write_text("0,1\n")
    (tmp_path / "outside.csv").write_text("0,1\n")
    return folder


def test_relative_path_is_taken_from_the_data_folder(data_dir: Path) -> None:
    assert resolve_data_path("sub/a.csv", data_dir) == (data_dir / "sub" / "a.csv").resolve()


def test_path_starting_with_the_data_folder_name_is_accepted(data_dir: Path) -> None:
    assert resolve_data_path(" data/sub/a.csv ", data_dir) == (data_dir / "sub/a.csv").resolve()


def test_dot_dot_is_refused(data_dir: Path) -> None:
    with pytest.raises(DatasetError, match=r"'\.\.' is not allowed"):
        resolve_data_path("sub/../../outside.csv", data_dir)


def test_absolute_path_outside_the_data_folder_is_refused(data_dir: Path) -> None:
    with pytest.raises(DatasetError, match="outside the data folder"):
        resolve_data_path(str(data_dir.parent / "outside.csv"), data_dir)


def test_symlink_pointing_out_of_the_data_folder_is_refused(data_dir: Path) -> None:
    os.symlink(data_dir.parent / "outside.csv", data_dir / "link.csv")
    with pytest.raises(DatasetError, match="outside the data folder"):
        resolve_data_path("link.csv", data_dir)


def test_missing_file_is_reported(data_dir: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        resolve_data_path("nope.csv", data_dir)


def test_dataset_files_are_listed_relative_to_the_data_folder(data_dir: Path) -> None:
    (data_dir / "b.csv.gz").write_bytes(b"")
    (data_dir / "notes.txt").write_text("x")
    (data_dir / ".hidden").mkdir()
    (data_dir / ".hidden" / "c.csv").write_text("0,1\n")
    os.symlink(data_dir.parent / "outside.csv", data_dir / "link.csv")
    assert list_dataset_files(data_dir) == ["b.csv.gz", "sub/a.csv"]
