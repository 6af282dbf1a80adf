"""The binary cache: hits, misses, rebuilds, atomic writes, status and clearing."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from data_helpers import csv_text, random_images, write

from flowerdash.data import cache as cache_module
from flowerdash.data import cache_info, cache_status, clear_cache, default_cache_dir, load_dataset
from flowerdash.errors import DatasetError


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    return write(tmp_path / "f.csv", csv_text(["a", "b", "a"], random_images(3, (4, 4, 3))))


def _entries(folder: Path) -> list[str]:
    entries = folder / "entries"
    return sorted(p.name for p in entries.iterdir()) if entries.is_dir() else []


def test_default_cache_dir_prefers_flowerdash_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("FLOWERDASH_CACHE_DIR", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x"


def test_default_cache_dir_falls_back_to_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.delenv("FLOWERDASH_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "flowerdash"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "flowerdash"


def test_first_load_parses_and_second_opens_the_cache(csv_file):
    first = load_dataset(csv_file)
    second = load_dataset(csv_file)
    assert (first.from_cache, second.from_cache) == (False, True)
    assert np.array_equal(first.images, second.images)
    assert second.labels.tolist() == ["a", "b", "a"]
    assert second.fingerprint == first.fingerprint


def test_cached_images_are_a_read_only_memory_map(csv_file):
    load_dataset(csv_file)
    images = load_dataset(csv_file).images
    assert isinstance(images, np.memmap)
    assert not images.flags.writeable


def test_cache_hit_does_not_read_the_csv(csv_file, monkeypatch):
    load_dataset(csv_file)

    def no_parse(*args, **kwargs):
        raise AssertionError("parsed although cached")

    monkeypatch.setattr("flowerdash.data.dataset._parse", no_parse)
    assert load_dataset(csv_file).from_cache


def test_changed_file_is_parsed_again(csv_file):
    load_dataset(csv_file)
    write(csv_file, csv_text(["c"], random_images(1, (4, 4, 3), seed=9)))
    dataset = load_dataset(csv_file)
    assert not dataset.from_cache
    assert dataset.classes == ["c"]


def test_same_content_under_a_touched_mtime_is_reparsed_and_reuses_the_entry(csv_file):
    first = load_dataset(csv_file)
    stat = csv_file.stat()
    os.utime(csv_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    again = load_dataset(csv_file)
    assert not again.from_cache and again.fingerprint == first.fingerprint
    assert load_dataset(csv_file).from_cache


def test_use_cache_false_writes_nothing(csv_file):
    load_dataset(csv_file, use_cache=False)
    assert not default_cache_dir().exists() or _entries(default_cache_dir()) == []


def test_explicit_cache_dir_is_used(csv_file, tmp_path):
    load_dataset(csv_file, cache_dir=tmp_path / "c")
    assert any(name.endswith(".json") for name in _entries(tmp_path / "c"))
    assert load_dataset(csv_file, cache_dir=tmp_path / "c").from_cache


def test_crash_while_publishing_leaves_no_entry_that_looks_valid(csv_file, monkeypatch):
    real_replace = os.replace
    calls = []

    def crash_on_second_rename(source, target):
        calls.append(target)
        if len(calls) == 2:  # pixels renamed, codes not yet, metadata never written
            raise OSError("simulated crash")
        real_replace(source, target)

    monkeypatch.setattr(cache_module.os, "replace", crash_on_second_rename)
    dataset = load_dataset(csv_file)  # the failed cache write falls back to a parse in memory
    assert not dataset.from_cache and len(dataset) == 3
    monkeypatch.setattr(cache_module.os, "replace", real_replace)
    assert not any(name.endswith(".json") for name in _entries(default_cache_dir()))
    assert cache_status(csv_file).state == "absent"
    dataset = load_dataset(csv_file)
    assert not dataset.from_cache and len(dataset) == 3
    assert load_dataset(csv_file).from_cache


def test_cache_write_failure_mid_parse_still_returns_the_data(csv_file, monkeypatch):
    def disk_full(self, pixels, codes):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache_module.EntryWriter, "append", disk_full)
    dataset = load_dataset(csv_file)
    assert len(dataset) == 3 and not dataset.from_cache
    assert [p for p in _entries(default_cache_dir()) if not p.startswith(".")] == []
    assert list((default_cache_dir() / "entries").glob(".parsing.*")) == []


def test_temporary_files_abandoned_by_a_killed_parse_are_removed_later(csv_file, tmp_path):
    entries = default_cache_dir() / "entries"
    entries.mkdir(parents=True)
    stale = entries / ".parsing.abc.pixels"
    stale.write_bytes(b"x")
    os.utime(stale, (0, 0))
    load_dataset(csv_file)
    assert not stale.exists()


def test_entry_with_truncated_pixels_is_not_used(csv_file):
    load_dataset(csv_file)
    pixels = next((default_cache_dir() / "entries").glob("*.pixels"))
    pixels.write_bytes(pixels.read_bytes()[:-1])
    dataset = load_dataset(csv_file)
    assert not dataset.from_cache and len(dataset) == 3


def test_failed_parse_leaves_no_cache_files(tmp_path):
    path = write(tmp_path / "bad.csv", "a,1,2,3,4\nb,1,2,3,999\n")
    with pytest.raises(DatasetError):
        load_dataset(path)
    assert _entries(default_cache_dir()) == []


def test_cache_status_reports_absent_cached_and_stale(csv_file):
    assert cache_status(csv_file).state == "absent"
    dataset = load_dataset(csv_file)
    status = cache_status(csv_file)
    assert (status.state, status.fingerprint) == ("cached", dataset.fingerprint)
    write(csv_file, "z,1,2,3,4\n")
    assert cache_status(csv_file).state == "stale"


def test_clear_cache_removes_entries_and_reports_bytes_freed(csv_file):
    load_dataset(csv_file)
    assert cache_info()["entries"]
    assert clear_cache() > 0
    assert cache_info()["entries"] == []
    assert not load_dataset(csv_file).from_cache


def test_cache_info_lists_entries_with_source_rows_and_shape(csv_file):
    load_dataset(csv_file)
    (entry,) = cache_info()["entries"]
    assert (entry["source"], entry["rows"], entry["shape"]) == (str(csv_file), 3, [4, 4, 3])


def test_unwritable_cache_dir_still_loads_the_file(csv_file, tmp_path):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    dataset = load_dataset(csv_file, cache_dir=blocker)
    assert len(dataset) == 3 and not dataset.from_cache


def test_cache_hit_honours_an_explicit_shape(csv_file):
    load_dataset(csv_file)
    dataset = load_dataset(csv_file, (8, 2, 3))
    assert dataset.from_cache and dataset.images.shape == (3, 8, 2, 3)


def test_cache_hit_refuses_a_shape_that_does_not_fit_like_a_parse_does(csv_file):
    load_dataset(csv_file)
    with pytest.raises(DatasetError, match="needs 75 pixel values per line, found 48"):
        load_dataset(csv_file, (5, 5, 3))
