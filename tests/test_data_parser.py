"""Parsing and validation: every malformed case with its message and line, the lenient cases,
chunk boundaries, and a property test that CSVs in many dialects parse back identically."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from data_helpers import csv_text, random_images, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowerdash.data import load_dataset
from flowerdash.data.parser import LABEL_LIMIT
from flowerdash.errors import DatasetError

GOOD = "a,1,2,3,4\nb,5,6,7,8\na,9,10,11,12\n"


def _load(path: Path, **kwargs):
    return load_dataset(path, use_cache=False, **kwargs)


def _error(tmp_path: Path, content: str | bytes, name: str = "bad.csv") -> DatasetError:
    path = write(tmp_path / name, content)
    with pytest.raises(DatasetError) as caught:
        _load(path)
    return caught.value


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [
        (GOOD + "b,1,2,3\n", 4, "found 4 values; expected 5"),
        (GOOD + "b,1,2,3,4,5\n", 4, "found 6 values; expected 5"),
        ("a,1,2,3,4\nb,1,x,3,4\n", 2, "found 'x' in column 3; expected an integer 0-255"),
        ("a,1,2,3,4\nb,1,2,3,-4\n", 2, "negative value '-4' in column 5"),
        ("a,1,2,3,4\nb,1,2,256,4\n", 2, "found '256' in column 4; expected an integer 0-255"),
        ("a,1,2,3,4\nb,1,2,1000,4\n", 2, "found '1000' in column 4"),
        ("a,1,2,3,4\nb,1,2.5,3,4\n", 2, "fractional value '2.5' in column 3"),
        ("a,1,2,3,4\nb,1,,3,4\n", 2, "empty value in column 3"),
        ("a,1,2,3,4\n,1,2,3,4\n", 2, "empty label in column 1"),
        ("a,1,2,3,4\nb,1,2,3,4\nc,1,2,3,4\nb,1,2\x00,3,4\n", 4, "binary data (byte 0x00)"),
    ],
)
def test_malformed_line_is_reported_with_its_line_and_what_was_expected(
    tmp_path, content, line, fragment
):
    error = _error(tmp_path, content)
    assert error.line == line
    assert fragment in error.problem
    assert str(error).startswith(f"{tmp_path / 'bad.csv'}, line {line}: ")


def test_bad_value_in_a_label_last_file_names_its_column(tmp_path):
    error = _error(tmp_path, "1,2,3,4,a\n1,2,300,4,b\n")
    assert (error.line, error.problem) == (2, "found '300' in column 3; expected an integer 0-255")


def test_error_line_numbers_count_the_header_line(tmp_path):
    error = _error(tmp_path, "label,p1,p2,p3,p4\na,1,2,3,4\nb,1,2,3,999\n")
    assert error.line == 3


def test_error_far_into_a_large_file_has_the_right_line(tmp_path):
    images = random_images(3000, (28, 28, 1))
    lines = csv_text(["7"] * 3000, images).splitlines(keepends=True)
    lines[2500] = lines[2500].replace(",", ",x", 1)
    error = _error(tmp_path, "".join(lines))
    assert error.line == 2501
    assert "found 'x" in error.problem


def test_empty_file_is_refused(tmp_path):
    error = _error(tmp_path, "")
    assert "empty" in error.problem and error.line is None


def test_header_only_file_is_refused(tmp_path):
    error = _error(tmp_path, "label,p1,p2,p3,p4\n")
    assert "header line but no data rows" in error.problem


def test_image_renamed_csv_is_refused(tmp_path):
    error = _error(tmp_path, b"\x89PNG\r\n\x1a\n" + bytes(200))
    assert "PNG image" in error.problem


def test_binary_garbage_is_refused(tmp_path):
    error = _error(tmp_path, bytes(range(256)) * 4)
    assert "binary data" in error.problem


def test_truncated_gzip_is_refused(tmp_path):
    data = gzip.compress(csv_text(["a"] * 400, random_images(400, (8, 8, 3))).encode())
    error = _error(tmp_path, data[: len(data) // 2], "cut.csv.gz")
    assert "gzip data ends early" in error.problem


def test_enormous_line_is_refused_without_reading_it_whole(tmp_path):
    error = _error(tmp_path, GOOD + "a," + "1" * 3_000_000 + "\n")
    assert error.line == 4
    assert "line longer than" in error.problem


def test_enormous_first_line_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("flowerdash.data.csv_format.FIRST_LINE_LIMIT", 1 << 20)
    error = _error(tmp_path, "a," + "1," * (1 << 20))
    assert error.line == 1
    assert "first line is longer than" in error.problem


def test_overlong_label_is_refused(tmp_path):
    error = _error(tmp_path, GOOD + "x" * (LABEL_LIMIT + 1) + ",1,2,3,4\n")
    assert error.line == 4 and "label" in error.problem


# --- lenient cases (documented in data/README.md) -------------------------------------------


def _pixels(dataset) -> list[list[int]]:
    return dataset.images.reshape(len(dataset), -1).tolist()


def test_blank_lines_are_skipped_and_later_lines_keep_their_numbers(tmp_path):
    path = write(tmp_path / "f.csv", "a,1,2,3,4\n\n  \nb,5,6,7,8\nb,5,6,7,999\n")
    with pytest.raises(DatasetError) as caught:
        _load(path)
    assert caught.value.line == 5
    path = write(tmp_path / "g.csv", "a,1,2,3,4\n\n  \nb,5,6,7,8\n\n")
    assert _pixels(_load(path)) == [[1, 2, 3, 4], [5, 6, 7, 8]]


def test_one_trailing_comma_per_line_is_ignored(tmp_path):
    path = write(tmp_path / "f.csv", "a,1,2,3,4,\nb,5,6,7,8,\n")
    assert _pixels(_load(path)) == [[1, 2, 3, 4], [5, 6, 7, 8]]


def test_quoted_numbers_and_labels_are_read(tmp_path):
    path = write(tmp_path / "f.csv", '"a","1","2","3","4"\n"b c",5,6,7,8\n')
    dataset = _load(path)
    assert _pixels(dataset) == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert dataset.labels.tolist() == ["a", "b c"]


def test_spaces_around_values_are_ignored(tmp_path):
    path = write(tmp_path / "f.csv", "a, 1, 2 ,3,\t4\n b ,5,6,7,8 \n")
    dataset = _load(path)
    assert _pixels(dataset) == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert dataset.labels.tolist() == ["a", "b"]


def test_cr_only_line_endings_are_read(tmp_path):
    path = write(tmp_path / "f.csv", GOOD.replace("\n", "\r"))
    assert _pixels(_load(path)) == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]


def test_crlf_line_endings_and_a_missing_final_newline_are_read(tmp_path):
    path = write(tmp_path / "f.csv", GOOD.replace("\n", "\r\n").rstrip())
    assert len(_load(path)) == 3


def test_utf8_bom_is_skipped(tmp_path):
    path = write(tmp_path / "f.csv", b"\xef\xbb\xbf" + b"label,p1,p2,p3,p4\n" + GOOD.encode())
    dataset = _load(path)
    assert dataset.header and dataset.label_column == "label" and len(dataset) == 3


def test_labels_that_are_not_utf8_are_read_as_latin1(tmp_path):
    path = write(tmp_path / "f.csv", b"caf\xe9,1,2,3,4\nb,5,6,7,8\n")
    assert _load(path).classes == ["b", "café"]


def test_utf8_labels_are_read(tmp_path):
    path = write(tmp_path / "f.csv", "café,1,2,3,4\n向日葵,5,6,7,8\n")
    assert _load(path).classes == ["café", "向日葵"]


def test_a_single_class_is_read(tmp_path):
    path = write(tmp_path / "f.csv", "a,1,2,3,4\na,5,6,7,8\n")
    assert _load(path).class_counts() == {"a": 2}


def test_labels_with_dashes_and_spaces_are_read(tmp_path):
    path = write(tmp_path / "f.csv", "sun-flower,1,2,3,4\nwild rose,5,6,7,8\n")
    assert _load(path).labels.tolist() == ["sun-flower", "wild rose"]


def test_label_in_a_middle_column_named_by_the_header_is_read(tmp_path):
    path = write(tmp_path / "f.csv", "p1,p2,target,p3,p4\n1,2,cat,3,4\n5,6,dog,7,8\n")
    dataset = _load(path)
    assert _pixels(dataset) == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert dataset.labels.tolist() == ["cat", "dog"]


def test_values_with_leading_zeros_up_to_three_digits_are_read(tmp_path):
    path = write(tmp_path / "f.csv", "a,001,02,000,255\n")
    assert _pixels(_load(path)) == [[1, 2, 0, 255]]


# --- size and dialects ----------------------------------------------------------------------


def test_file_spanning_many_chunks_matches_numpy_loadtxt(tmp_path):
    images = random_images(1500, (28, 28, 1), seed=3)
    labels = [str(i % 10) for i in range(1500)]
    path = write(tmp_path / "f.csv", csv_text(labels, images))
    dataset = _load(path)
    reference = np.loadtxt(path, delimiter=",", dtype=np.int64)
    assert np.array_equal(dataset.images.reshape(1500, -1), reference[:, 1:])
    assert dataset.labels.tolist() == labels


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.data(),
    rows=st.integers(1, 12),
    side=st.integers(1, 6),
    channels=st.sampled_from([1, 3]),
    header=st.booleans(),
    label_last=st.booleans(),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    final_newline=st.booleans(),
    compress=st.booleans(),
    bom=st.booleans(),
)
def test_random_images_written_in_any_dialect_parse_back_identically(
    tmp_path, data, rows, side, channels, header, label_last, newline, final_newline, compress, bom
):
    shape = (side, side, channels)
    images = data.draw(
        st.lists(
            st.lists(
                st.integers(0, 255),
                min_size=side * side * channels,
                max_size=side * side * channels,
            ),
            min_size=rows,
            max_size=rows,
        )
    )
    images = np.array(images, dtype=np.uint8).reshape(rows, *shape)
    label_text = st.text(
        alphabet=st.characters(
            blacklist_categories=["Cc", "Cs", "Zs", "Zl", "Zp"], blacklist_characters=',"'
        ),
        min_size=1,
        max_size=8,
    )
    labels = data.draw(
        st.lists(label_text | st.integers(0, 30).map(str), min_size=rows, max_size=rows)
    )
    if label_last and not header:
        # without a header a label-last file needs a word label on line 1 to be recognised
        labels[0] = "z" + labels[0]
    text = csv_text(
        labels,
        images,
        header=header,
        label_last=label_last,
        newline=newline,
        final_newline=final_newline,
    )
    content = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    path = write(tmp_path / "p.csv", content, compress=compress)
    dataset = _load(path, shape=shape)
    assert np.array_equal(dataset.images, images)
    assert dataset.labels.tolist() == labels
    assert dataset.header == header


_LENIENT_BYTES = {ord(c) for c in ' \t"\r\n,'} | set(range(ord("0"), ord("9") + 1))


@pytest.mark.parametrize("label_last", [False, True])
def test_every_stray_byte_inside_a_pixel_value_is_refused(tmp_path, label_last):
    for byte in sorted(set(range(256)) - _LENIENT_BYTES):
        value = b"1" + bytes([byte]) + b"2"
        row = [b"5", value, b"7", b"8"]
        line = b",".join([*row, b"b"] if label_last else [b"b", *row])
        first = b"1,2,3,4,a" if label_last else b"a,1,2,3,4"
        path = write(tmp_path / "f.csv", first + b"\n" + line + b"\n")
        with pytest.raises(DatasetError) as caught:
            _load(path)
        assert caught.value.line == 2, (byte, str(caught.value))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(token=st.text(alphabet="0123456789-.e+x ", min_size=0, max_size=5))
def test_a_pixel_token_is_accepted_exactly_when_it_is_an_integer_0_to_255(tmp_path, token):
    path = write(tmp_path / "t.csv", f"a,1,2,3,4\nb,9,{token},9,9\n")
    stripped = token.strip()
    valid = stripped.isdigit() and len(stripped) <= 3 and int(stripped) <= 255
    if valid:
        assert _pixels(_load(path))[1] == [9, int(stripped), 9, 9]
    else:
        with pytest.raises(DatasetError) as caught:
            _load(path)
        assert caught.value.line == 2


def test_bad_value_on_the_first_line_is_reported_not_skipped_as_a_header(tmp_path):
    error = _error(tmp_path, "7,1,x,3,4\n7,1,2,3,4\n")
    assert error.line == 1 and "found 'x' in column 3" in error.problem


def test_decoding_threads_give_the_same_result_as_one_thread(tmp_path):
    images = random_images(2000, (28, 28, 1), seed=5)
    labels = [f"c{i % 7}" for i in range(2000)]
    path = write(tmp_path / "f.csv", csv_text(labels, images))
    one = load_dataset(path, use_cache=False, threads=1)
    many = load_dataset(path, use_cache=False, threads=3)
    assert np.array_equal(one.images, many.images) and np.array_equal(one.images, images)
    assert one.labels.tolist() == many.labels.tolist() == labels
