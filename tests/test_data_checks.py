"""Checks across datasets: leaks (test images byte-identical to a training image), one shape,
class differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowerdash.data_checks import (
    ShapeMismatch,
    check_same_shape,
    compare_classes,
    find_leaked_rows,
)
from flowerdash.errors import ShapeProblem


def _images(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 4, 4, 3), dtype=np.uint8)


def test_copied_test_images_are_found_with_their_training_row() -> None:
    train, test = _images(20, 0), _images(10, 1)
    test[3] = train[7]
    test[8] = train[0]
    check = find_leaked_rows(train, test)
    assert check.leaked == 2
    assert check.test_indices.tolist() == [3, 8]
    assert check.train_indices.tolist() == [7, 0]
    assert check.fraction == 0.2


def test_distinct_sets_have_no_leak() -> None:
    check = find_leaked_rows(_images(20, 0), _images(10, 1))
    assert check.leaked == 0
    assert check.fraction == 0.0


def test_one_pixel_difference_is_not_a_leak() -> None:
    train = _images(5, 0)
    test = train[:1].copy()
    test[0, 0, 0, 0] ^= 1
    assert find_leaked_rows(train, test).leaked == 0


def test_images_of_other_shape_never_match() -> None:
    train = np.zeros((3, 4, 4, 1), dtype=np.uint8)
    test = np.zeros((2, 2, 8, 1), dtype=np.uint8)
    assert find_leaked_rows(train, test).leaked == 0


def test_empty_test_set_gives_zero_fraction() -> None:
    check = find_leaked_rows(_images(3, 0), _images(0, 1))
    assert check.leaked == 0
    assert check.fraction == 0.0


@given(
    train=st.lists(st.tuples(*[st.integers(0, 3)] * 3), max_size=12),
    test=st.lists(st.tuples(*[st.integers(0, 3)] * 3), max_size=12),
)
def test_leaks_match_a_brute_force_comparison(train: list, test: list) -> None:
    def as_images(rows: list) -> np.ndarray:
        return np.asarray(rows, dtype=np.uint8).reshape(len(rows), 1, 3, 1)

    check = find_leaked_rows(as_images(train), as_images(test))
    expected_test = [index for index, row in enumerate(test) if row in train]
    assert check.test_indices.tolist() == expected_test
    assert check.train_indices.tolist() == [train.index(test[index]) for index in expected_test]


def test_compare_classes_names_unknown_and_absent_classes_and_keeps_training_order():
    comparison = compare_classes(["rose", "daisy", "tulip"], ["tulip", "lily", "rose", "aster"])
    assert comparison.unknown == ["aster", "lily"]
    assert comparison.absent == ["daisy"]
    assert comparison.all == ["rose", "daisy", "tulip", "lily", "aster"]


def test_check_same_shape_raises_a_typed_error_naming_both_shapes():
    check_same_shape("test.csv", (8, 8, 3), (8, 8, 3), against="the training images")
    with pytest.raises(ShapeMismatch) as error:
        check_same_shape("test.csv", (8, 8, 1), (8, 8, 3), against="the model's input")
    assert (error.value.found, error.value.expected) == ((8, 8, 1), (8, 8, 3))
    assert isinstance(error.value, ShapeProblem)
    assert str(error.value).startswith("test.csv: images are 8x8x1, expected 8x8x3 like the model")
