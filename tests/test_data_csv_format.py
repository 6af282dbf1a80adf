"""Format detection: shapes, header, label column, files that are not image CSVs."""

from __future__ import annotations

import pytest

from flowerdash.data.csv_format import (
    colour_name,
    detect_layout,
    format_label_column,
    infer_shape,
    parse_shape,
    refuse_non_csv,
)
from flowerdash.errors import DatasetError


def _layout(first_line: bytes, shape=None):
    return detect_layout(
        first_line, shape=shape, path="f.csv", gzipped=False, bom=False, line_ending="\n"
    )


@pytest.mark.parametrize(
    ("count", "shape"),
    [(12288, (64, 64, 3)), (3072, (32, 32, 3)), (784, (28, 28, 1)), (4096, (64, 64, 1))],
)
def test_infer_shape_maps_the_common_pixel_counts(count, shape):
    assert infer_shape(count) == shape


def test_infer_shape_handles_any_square_grayscale_or_rgb_size():
    assert infer_shape(100 * 100) == (100, 100, 1)
    assert infer_shape(3 * 17 * 17) == (17, 17, 3)


def test_infer_shape_returns_none_for_a_count_that_fits_no_square_image():
    assert infer_shape(5) is None
    assert infer_shape(2 * 64 * 64) is None


def test_parse_shape_takes_no_shape_and_a_blank_box_as_none():
    assert parse_shape(None) is None
    assert parse_shape("") is None
    assert parse_shape("  ") is None


def test_parse_shape_reads_hxwxc_and_grayscale_hxw():
    assert parse_shape("64x64x3") == (64, 64, 3)
    assert parse_shape("28X28") == (28, 28, 1)
    assert parse_shape((32, 16, 3)) == (32, 16, 3)
    assert parse_shape(None) is None


@pytest.mark.parametrize("text", ["64x64x", "big", "0x4x3", "1x2x3x4"])
def test_parse_shape_refuses_malformed_shapes_naming_the_expected_form(text):
    with pytest.raises(DatasetError, match="HxWxC"):
        parse_shape(text)


def test_label_column_reads_as_its_header_name_or_its_position_from_one():
    assert format_label_column("label") == "'label'"
    assert format_label_column("label", quote="`") == "`label`"
    assert format_label_column(0) == "column 1"
    assert format_label_column(784) == "column 785"


def test_colour_name_says_grayscale_rgb_or_the_channel_count():
    assert [colour_name(c) for c in (1, 3, 4)] == ["grayscale", "RGB", "4 channels"]


def test_header_with_label_first_is_detected():
    layout = _layout(b"label," + b",".join(b"pixel%d" % i for i in range(1, 785)))
    assert (layout.header, layout.label_column, layout.label_name) == (True, 0, "label")
    assert layout.shape == (28, 28, 1)
    assert layout.first_data_line == 2


def test_header_naming_class_last_puts_the_label_last():
    layout = _layout(b",".join(b"pixel%d" % i for i in range(1, 785)) + b",class")
    assert (layout.header, layout.label_column, layout.label_name) == (True, 784, "class")


def test_header_label_name_is_case_insensitive():
    layout = _layout(b"Label," + b",".join(b"f%d" % i for i in range(784)))
    assert layout.label_name == "Label"


def test_header_naming_target_in_the_middle_is_the_label_column():
    names = [b"p%d" % i for i in range(4)]
    layout = _layout(b",".join([*names[:2], b"TARGET", *names[2:]]))
    assert layout.label_column == 2


def test_numeric_first_line_is_data_with_the_label_first():
    layout = _layout(b"7," + b",".join([b"0"] * 784))
    assert (layout.header, layout.label_column, layout.first_data_line) == (False, 0, 1)


def test_string_label_first_without_header_is_data():
    layout = _layout(b"daisy," + b",".join([b"12"] * 12288))
    assert (layout.header, layout.label_column, layout.shape) == (False, 0, (64, 64, 3))


def test_a_word_only_in_the_last_field_is_a_label_last_without_header():
    layout = _layout(b",".join([b"3"] * 4) + b",daisy")
    assert (layout.header, layout.label_column) == (False, 4)


def test_explicit_shape_overrides_inference():
    layout = _layout(b"1," + b",".join([b"0"] * 24), shape=(4, 2, 3))
    assert layout.shape == (4, 2, 3)


def test_explicit_shape_that_does_not_match_the_count_is_refused():
    with pytest.raises(DatasetError, match=r"4x4x3 needs 48 pixel values per line, found 24"):
        _layout(b"1," + b",".join([b"0"] * 24), shape=(4, 4, 3))


def test_count_that_fits_no_square_image_asks_for_the_shape():
    with pytest.raises(DatasetError, match=r"5 pixel values .*--shape"):
        _layout(b"1,2,3,4,5,6")


@pytest.mark.parametrize(
    ("start", "fragment"),
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 3\n", "Git LFS"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG image"),
        (b"PK\x03\x04\x14\x00", "ZIP archive"),
        (b"abc\x00\x01\x02,1,2", "binary data"),
    ],
)
def test_files_that_are_not_image_csvs_are_refused_saying_what_they_are(start, fragment):
    with pytest.raises(DatasetError, match=fragment):
        refuse_non_csv(start, "f.csv")


def test_first_data_line_with_a_bad_value_is_not_mistaken_for_a_header():
    layout = _layout(b"7,1,x,3,4")
    assert (layout.header, layout.label_column, layout.first_data_line) == (False, 0, 1)


def test_header_of_unnamed_columns_is_detected_because_it_is_all_words():
    layout = _layout(b"name," + b",".join(b"px%d" % i for i in range(4)))
    assert (layout.header, layout.label_column, layout.label_name) == (True, 0, "name")
