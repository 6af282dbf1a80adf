"""convert: image folder -> stratified, shuffled, deterministic train and test CSVs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from flowerdash.data import load_dataset
from flowerdash.data.convert import convert_image_folder, load_square_image, stratified_split
from flowerdash.errors import ConfigError, DatasetError


def _image_folder(root: Path, counts: dict[str, int]) -> Path:
    rng = np.random.default_rng(0)
    for name, count in counts.items():
        (root / name).mkdir(parents=True)
        for index in range(count):
            size = (int(rng.integers(20, 40)), int(rng.integers(20, 40)))
            pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
            suffix = "png" if index % 2 else "jpg"
            Image.fromarray(pixels).save(root / name / f"{index}.{suffix}")
    return root


def test_convert_writes_train_and_test_csvs_that_load_back(tmp_path):
    images = _image_folder(tmp_path / "img", {"daisy": 8, "tulips": 4})
    result = convert_image_folder(images, tmp_path / "out" / "flowers", size=16, test_fraction=0.25)
    assert (result.train_rows, result.test_rows) == (9, 3)
    train = load_dataset(tmp_path / "out" / "flowers_train.csv")
    test = load_dataset(tmp_path / "out" / "flowers_test.csv")
    assert train.images.shape == (9, 16, 16, 3) and not train.header
    assert train.class_counts() == {"daisy": 6, "tulips": 3}
    assert test.class_counts() == {"daisy": 2, "tulips": 1}


def test_convert_is_deterministic_for_a_seed(tmp_path):
    images = _image_folder(tmp_path / "img", {"a": 6, "b": 6})
    convert_image_folder(images, tmp_path / "one", size=8, seed=3)
    convert_image_folder(images, tmp_path / "two", size=8, seed=3)
    convert_image_folder(images, tmp_path / "three", size=8, seed=4)
    one = (tmp_path / "one_train.csv").read_bytes()
    assert one == (tmp_path / "two_train.csv").read_bytes()
    assert one != (tmp_path / "three_train.csv").read_bytes()


def test_unreadable_images_are_skipped_and_listed(tmp_path):
    images = _image_folder(tmp_path / "img", {"a": 3, "b": 3})
    (images / "a" / "broken.png").write_bytes(b"not a png")
    result = convert_image_folder(images, tmp_path / "o", size=8)
    assert [Path(path).name for path, _ in result.skipped] == ["broken.png"]
    assert result.train_rows + result.test_rows == 6


def test_centre_crop_keeps_the_middle_of_a_wide_image(tmp_path):
    pixels = np.zeros((10, 30, 3), np.uint8)
    pixels[:, 10:20] = 200  # the centre third is bright, the sides black
    Image.fromarray(pixels).save(tmp_path / "wide.png")
    square = load_square_image(tmp_path / "wide.png", 10)
    assert square.shape == (10, 10, 3)
    assert square.min() > 150


def test_grayscale_images_become_rgb(tmp_path):
    Image.fromarray(np.full((12, 12), 77, np.uint8)).save(tmp_path / "g.png")
    assert load_square_image(tmp_path / "g.png", 4).shape == (4, 4, 3)


def test_stratified_split_keeps_one_training_row_per_class():
    train, test = stratified_split(["a", "a", "b"], 0.5, seed=0)
    assert sorted(train.tolist() + test.tolist()) == [0, 1, 2]
    assert 2 in train.tolist()


def test_folder_without_class_subfolders_is_refused(tmp_path):
    (tmp_path / "img").mkdir()
    with pytest.raises(DatasetError, match="one subfolder of images per class"):
        convert_image_folder(tmp_path / "img", tmp_path / "o")


def test_folder_without_readable_images_is_refused(tmp_path):
    (tmp_path / "img" / "a").mkdir(parents=True)
    (tmp_path / "img" / "a" / "x.png").write_bytes(b"nope")
    with pytest.raises(DatasetError, match="no readable image"):
        convert_image_folder(tmp_path / "img", tmp_path / "o")


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_test_fraction_outside_zero_and_one_is_refused(tmp_path, fraction):
    images = _image_folder(tmp_path / "img", {"a": 2})
    with pytest.raises(ConfigError, match="between 0 and 1"):
        convert_image_folder(images, tmp_path / "o", test_fraction=fraction)
