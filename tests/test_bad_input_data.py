"""Issue #12, data side: hostile files are refused at once, with bounded memory and disk.

Each case from the issue's table (see ``bad_input_corpus``) is checked through the library and
through ``inspect`` (exit 2, one line on stderr, nothing left behind). Limits are set low via
``ReadLimits`` / the environment, so the bombs stay small and the tests fast; the real figures
are in ``benchmarks/bad_input.py``.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from bad_input_corpus import (
    ONE_PIXEL_ROW,
    WIDE_ROW,
    fifo,
    fifo_with_writer,
    gzip_bomb,
    text_csv,
)
from data_helpers import REPO_ROOT

from flowerdash.cli import main
from flowerdash.data import cache_info, clear_cache, default_cache_dir, load_dataset
from flowerdash.data.limits import ReadLimits, parse_size
from flowerdash.data.parser import MAX_CLASSES
from flowerdash.errors import ConfigError, DatasetError

LOW = ReadLimits(ratio_after=1 << 20)  # judge the ratio after 1 MiB instead of 64


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert "Traceback" not in err
    return err


def _cache_leftovers() -> list[str]:
    entries = default_cache_dir() / "entries"
    return sorted(p.name for p in entries.iterdir()) if entries.is_dir() else []


# -- decompression bombs ------------------------------------------------------------------


def test_a_gzip_bomb_of_valid_rows_is_refused_with_its_figures(tmp_path):
    bomb = gzip_bomb(tmp_path / "bomb.csv.gz", WIDE_ROW, 8 << 20)
    with pytest.raises(DatasetError, match=r"expands more than 100 times .* compressed gave"):
        load_dataset(bomb, limits=LOW)
    assert _cache_leftovers() == []  # the half-written entry is gone


def test_a_gzip_bomb_of_one_pixel_rows_is_refused_without_the_cache_too(tmp_path):
    bomb = gzip_bomb(tmp_path / "bomb.csv.gz", ONE_PIXEL_ROW, 8 << 20)
    with pytest.raises(DatasetError, match="decompression bomb"):
        load_dataset(bomb, use_cache=False, limits=LOW)


def test_the_absolute_gzip_limit_refuses_even_a_modest_ratio(tmp_path):
    rows = np.random.default_rng(0).integers(0, 256, (100, 784)).astype(str)
    text = "\n".join("1," + ",".join(row) for row in rows) + "\n"
    path = tmp_path / "big.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))  # expands ~3x: no bomb, just big
    limits = ReadLimits(gzip_size=64 << 10)
    with pytest.raises(DatasetError, match=r"expands past 64\.0 KiB"):
        load_dataset(path, limits=limits)
    assert len(load_dataset(path)) == 100  # under the default limits it reads


def test_raising_the_ratio_limit_reads_a_repetitive_file(tmp_path):
    bomb = gzip_bomb(tmp_path / "zeros.csv.gz", WIDE_ROW, 4 << 20)
    with pytest.raises(DatasetError):
        load_dataset(bomb, limits=LOW)
    dataset = load_dataset(bomb, limits=LOW.with_gzip_ratio(5000))
    assert dataset.shape == (28, 28, 1) and dataset.class_counts() == {"7": len(dataset)}


def test_inspect_refuses_a_bomb_and_its_limits_come_from_options_or_environment(
    tmp_path, capsys, monkeypatch
):
    bomb = gzip_bomb(tmp_path / "bomb.csv.gz", WIDE_ROW, 4 << 20)
    assert main(["inspect", str(bomb), "--max-gzip-size", "1M"]) == 2
    assert "expands past 1.0 MiB" in _one_error_line(capsys)
    monkeypatch.setenv("FLOWERDASH_MAX_GZIP_SIZE", "2M")
    assert main(["inspect", str(bomb)]) == 2
    assert "expands past 2.0 MiB" in _one_error_line(capsys)
    assert main(["inspect", str(bomb), "--max-gzip-size", "8M"]) == 0
    assert main(["inspect", str(bomb), "--max-gzip-ratio", "often"]) == 2
    assert "--max-gzip-ratio: 'often' is not a ratio" in _one_error_line(capsys)


def test_limit_values_are_parsed_or_refused_with_the_variable_named():
    assert parse_size("16G") == 16 << 30 and parse_size("1.5k") == 1536
    assert parse_size("4096") == 4096 and parse_size("2 MiB") == 2 << 20
    with pytest.raises(ConfigError, match="FLOWERDASH_CACHE_MAX_SIZE: 'lots'"):
        ReadLimits.from_env({"FLOWERDASH_CACHE_MAX_SIZE": "lots"})
    assert ReadLimits.from_env({"FLOWERDASH_MAX_GZIP_RATIO": "250"}).gzip_ratio == 250


# -- memory per row -------------------------------------------------------------------------


def test_one_pixel_rows_keep_no_per_row_objects_in_the_cache_path(tmp_path):
    path = text_csv(tmp_path / "dots.csv", ONE_PIXEL_ROW + b"4,0\n", 200_000)
    dataset = load_dataset(path)
    assert len(dataset) == 400_000 and dataset.shape == (1, 1, 1)
    # pixels and codes stay on disk (memory-mapped); the counts come from the metadata
    assert isinstance(dataset.images.base, np.memmap) or isinstance(dataset.images, np.memmap)
    assert isinstance(dataset.codes, np.memmap) and dataset.codes.dtype == np.uint16
    assert dataset.summary()["class_counts"] == {"3": 200_000, "4": 200_000}
    assert "labels" not in vars(dataset)  # the per-row label strings were never built
    assert list(dataset.labels[:2]) == ["3", "4"]


def test_labels_of_mixed_lengths_decode_the_same_on_the_fast_path(tmp_path):
    names = ["a", "bb", "ccc", "dddddddddd"]
    lines = b"".join(f"{names[i % 4]},{i % 256}\n".encode() for i in range(40_000))
    path = tmp_path / "mixed.csv"
    path.write_bytes(lines)
    dataset = load_dataset(path, use_cache=False)
    assert dataset.class_counts() == dict.fromkeys(names, 10_000)
    assert list(dataset.labels[:5]) == ["a", "bb", "ccc", "dddddddddd", "a"]
    assert dataset.images[:3].reshape(-1).tolist() == [0, 1, 2]


def test_more_distinct_labels_than_classes_can_be_is_refused(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_bytes(b"".join(b"id%d,0\n" % i for i in range(MAX_CLASSES + 1)))
    with pytest.raises(DatasetError, match="more than 65,535 distinct labels"):
        load_dataset(path)
    assert _cache_leftovers() == []


# -- the cache's disk ---------------------------------------------------------------------


def test_the_cache_refuses_to_pass_its_size_limit_and_says_so(tmp_path):
    path = text_csv(tmp_path / "wide.csv", WIDE_ROW, 2000)  # 1.5 MB of pixels
    with pytest.raises(DatasetError, match=r"cache's size limit of 1\.0 MiB.*--no-cache"):
        load_dataset(path, limits=ReadLimits(cache_size=1 << 20))
    assert _cache_leftovers() == []
    assert len(load_dataset(path, use_cache=False)) == 2000


def test_the_cache_leaves_the_free_space_margin_on_its_disk(tmp_path):
    path = text_csv(tmp_path / "wide.csv", WIDE_ROW, 10)
    with pytest.raises(DatasetError, match=r"would leave less than .* free on the disk"):
        load_dataset(path, limits=ReadLimits(cache_free=1 << 60))
    assert _cache_leftovers() == []


def test_cache_clear_reports_only_the_bytes_it_freed(tmp_path, capsys):
    load_dataset(text_csv(tmp_path / "wide.csv", WIDE_ROW, 50))
    folder = default_cache_dir()
    notes = folder / "entries" / "my-notes.txt"
    notes.write_bytes(b"x" * 100_000)  # not the cache's: stays, and is not counted
    (folder / "keep.bin").write_bytes(b"y" * 50_000)
    (folder / "index" / ".tmp-123-abcdef-x.json").write_bytes(b"{}")  # a killed atomic write
    own = cache_info()["bytes"]
    assert own > 50 * 784 and own < 100_000
    assert main(["cache", "clear", "--json"]) == 0
    assert f'"freed_bytes": {own}' in capsys.readouterr().out
    assert notes.exists() and (folder / "keep.bin").exists()
    assert not (folder / "index").exists()  # emptied, so removed
    assert clear_cache() == 0


def test_cache_clear_does_not_count_a_file_another_hard_link_keeps(tmp_path):
    load_dataset(text_csv(tmp_path / "wide.csv", WIDE_ROW, 50))
    pixels = next((default_cache_dir() / "entries").glob("*.pixels"))
    os.link(pixels, tmp_path / "kept.pixels")
    own = cache_info()["bytes"]
    assert clear_cache() == own - 50 * 784  # the pixels' blocks are still held elsewhere
    assert cache_info()["bytes"] == 0
    assert (tmp_path / "kept.pixels").stat().st_size == 50 * 784


# -- what is not a regular file -----------------------------------------------------------


def _inspect_subprocess(path: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowerdash", "inspect", path],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        **kwargs,
    )


def test_a_fifo_without_a_writer_is_refused_at_once(tmp_path, capsys):
    pipe = fifo(tmp_path / "pipe.csv")
    started = time.monotonic()
    assert main(["inspect", str(pipe)]) == 2
    assert "is a named pipe (FIFO), not a regular file" in _one_error_line(capsys)
    assert time.monotonic() - started < 5


def test_a_fifo_with_a_writer_is_refused_too(tmp_path):
    with fifo_with_writer(tmp_path / "pipe.csv") as pipe, pytest.raises(DatasetError, match="FIFO"):
        load_dataset(pipe)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/dev/null", "is a character device"),
        ("/proc/self/mem", "/proc or /sys"),
        ("/proc/self/status", "/proc or /sys"),
        ("-", "standard input is not supported"),
    ],
)
def test_devices_proc_files_and_stdin_are_refused(path, expected, capsys):
    assert main(["inspect", path]) == 2
    assert expected in _one_error_line(capsys)


def test_a_folder_is_refused(tmp_path, capsys):
    assert main(["inspect", str(tmp_path)]) == 2
    assert "is a folder, expected a CSV file" in _one_error_line(capsys)


def test_dev_stdin_given_a_pipe_is_refused_without_a_traceback():
    result = _inspect_subprocess("/dev/stdin", input="a,1\n")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: /dev/stdin: is a named pipe (FIFO)")
    assert result.stderr.count("\n") == 1


def test_a_nul_byte_in_a_path_is_refused(capsys):
    with pytest.raises(DatasetError, match="cannot be opened"):
        load_dataset("data\0.csv")


def test_the_inferred_data_still_reads_after_the_checks(tmp_path):
    dataset = load_dataset(text_csv(tmp_path / "ok.csv", WIDE_ROW, 3))
    assert len(dataset) == 3 and Path(dataset.path).name == "ok.csv"


@pytest.mark.parametrize(
    "line",
    [
        b"daisy," + b"1," * 40_000 + b"2",
        b"1," * 40_000 + b"2,daisy",
        b"7," + b"1," * 40_000 + b"2,",  # a trailing comma
        b"-3," + b"12," * 30_000 + b"4",
        b"label," + b"1," * 40_000 + b"2",  # a header: the general rules decide
        b"1," * 40_000 + b"x,2",  # a word inside: the general rules decide
    ],
)
def test_wide_first_lines_get_the_layout_the_general_rules_give(line, monkeypatch):
    from flowerdash.data import csv_format

    def layout():
        options = {"shape": None, "path": "w.csv", "gzipped": False, "bom": False}
        try:
            return csv_format.detect_layout(line, line_ending="\n", **options)
        except DatasetError as error:
            return str(error)

    fast = layout()
    monkeypatch.setattr(csv_format, "_wide_data_line", lambda line: None)
    assert fast == layout()


def test_a_wide_first_line_is_read_without_an_object_per_field(tmp_path):
    row = b"a," + b",".join([b"255"] * (300 * 300 * 3)) + b"\n"
    path = tmp_path / "wide.csv"
    path.write_bytes(row * 3 + row.replace(b"a,", b"b,", 1))
    dataset = load_dataset(path)
    assert dataset.shape == (300, 300, 3) and dataset.class_counts() == {"a": 3, "b": 1}
    assert int(dataset.images.min()) == 255


@pytest.mark.parametrize("label_last", [False, True])
def test_very_wide_lines_decode_in_pieces_and_report_errors_exactly(
    tmp_path, label_last, monkeypatch
):
    from flowerdash.data import parser

    monkeypatch.setattr(parser, "WIDE_LINE_BYTES", parser.CHUNK_BYTES)  # 160,000 values wide
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (3, 400 * 400)).astype(np.uint8)  # 1.4 MB a line

    def line(label: str, values: list[str]) -> str:
        return ",".join([*values, label] if label_last else [label, *values]) + "\n"

    rows = [line(lab, [str(v) for v in image]) for lab, image in zip("xyx", images, strict=True)]
    path = tmp_path / "wide.csv"
    path.write_text("".join(rows))
    dataset = load_dataset(path, use_cache=False)
    assert np.array_equal(dataset.images.reshape(3, -1), images)
    assert list(dataset.labels) == ["x", "y", "x"]
    bad = [str(v) for v in images[1]]
    bad[123_456] = "256"
    path.write_text(rows[0] + line("y", bad) + rows[2])
    column = 123_457 if label_last else 123_458
    with pytest.raises(DatasetError, match=f"line 2: found '256' in column {column}"):
        load_dataset(path)
