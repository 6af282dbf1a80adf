"""Data-page figures and image helpers."""

from __future__ import annotations

import numpy as np
import pytest

from flowerdash.charts.data import (
    class_counts_figure,
    display_image,
    image_grid,
    sample_indices_per_class,
    upscale_nearest,
)


def test_class_counts_figure_puts_train_and_test_side_by_side() -> None:
    figure = class_counts_figure(["a", "b"], {"a": 5, "b": 3}, {"a": 2})
    assert figure.layout.barmode == "group"
    assert [trace.name for trace in figure.data] == ["train", "test"]
    assert list(figure.data[0].y) == [5, 3]
    assert list(figure.data[1].y) == [2, 0]


def test_class_counts_figure_without_test_has_one_series() -> None:
    figure = class_counts_figure(["a"], {"a": 5})
    assert len(figure.data) == 1


def test_upscale_nearest_repeats_pixels() -> None:
    image = np.array([[0, 255], [255, 0]], dtype=np.uint8)
    big = upscale_nearest(image, 3)
    assert big.shape == (6, 6)
    assert (big[:3, :3] == 0).all()
    assert (big[:3, 3:] == 255).all()


def test_display_image_enlarges_the_larger_side_up_to_the_size() -> None:
    grey = np.zeros((28, 20, 1), dtype=np.uint8)
    assert display_image(grey, 128).shape == (112, 80)  # 4x: 5x would make 140 > 128
    colour = np.zeros((64, 64, 3), dtype=np.uint8)
    assert display_image(colour, 96).shape == (64, 64, 3)  # no whole zoom fits: as it is
    assert display_image(colour, 128).shape == (128, 128, 3)


def test_grayscale_grid_is_2d_and_enlarged_to_min_side() -> None:
    images = np.zeros((5, 28, 28, 1), dtype=np.uint8)
    grid = image_grid(images, columns=3, min_side=96, gap=4)
    # 28 px * 4 = 112 px tiles (the smallest zoom reaching 96 px), 3 columns, 2 rows.
    assert grid.shape == (2 * 112 + 4, 3 * 112 + 2 * 4)


def test_rgb_grid_keeps_pixels_in_place() -> None:
    images = np.zeros((2, 2, 2, 3), dtype=np.uint8)
    images[1] = [10, 20, 30]
    grid = image_grid(images, columns=2, min_side=2, gap=1, background=255)
    assert grid.shape == (2, 5, 3)
    assert grid[0, 3].tolist() == [10, 20, 30]
    assert grid[0, 2].tolist() == [255, 255, 255]


def test_image_grid_refuses_no_images() -> None:
    with pytest.raises(ValueError, match="at least one image"):
        image_grid(np.zeros((0, 2, 2, 1), dtype=np.uint8), columns=2)


def test_samples_per_class_are_capped_reproducible_and_of_their_class() -> None:
    labels = np.array(["a", "b"] * 10)
    first = sample_indices_per_class(labels, ["a", "b", "c"], 3, seed=1)
    again = sample_indices_per_class(labels, ["a", "b", "c"], 3, seed=1)
    assert all(len(first[name]) == 3 for name in ("a", "b"))
    assert (labels[first["a"]] == "a").all()
    assert first["a"].tolist() == again["a"].tolist()
    assert len(first["c"]) == 0
