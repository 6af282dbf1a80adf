"""load_dataset and ImageDataset: the real published files, classes, label indices."""

from __future__ import annotations

import numpy as np
import pytest
from data_helpers import REPO_ROOT, csv_text, random_images, write

from flowerdash.data import class_order, encode_labels, load_dataset
from flowerdash.errors import DatasetError

REAL_FILES = [
    # (path under real_csv_formats, rows, header, label_column, classes)
    ("myonn_mnist_dataset/mnist_train_100.csv", 100, False, 0, [str(i) for i in range(10)]),
    ("myonn_mnist_dataset/mnist_test_10.csv", 10, False, 0, ["0", "1", "2", "4", "5", "7", "9"]),
    (
        "fashion_mnist_kaggle_subset_lf/fashion-mnist_train.csv",
        999,
        True,
        "label",
        [str(i) for i in range(10)],
    ),
    (
        "sign_mnist_subset_noheader/sign_mnist_train.csv",
        188,
        False,
        0,
        [str(i) for i in [*range(9), *range(10, 25)]],
    ),
    (
        "sign_mnist_subset_noheader/sign_mnist_test.csv",
        11,
        False,
        0,
        ["2", "3", "5", "10", "11", "13", "14", "18", "22"],
    ),
    (
        "da4bam_dataset/MNIST sample 100 28x28 dense.CSV",
        100,
        True,
        "Label",
        [str(i) for i in range(10)],
    ),
    (
        "prasertcbs_basic_dataset/mnist_28x28_2000rows.csv",
        2000,
        True,
        "class",
        [str(i) for i in range(10)],
    ),
]


@pytest.mark.parametrize(("name", "rows", "header", "label_column", "classes"), REAL_FILES)
def test_real_published_file_loads_with_its_shape_rows_and_classes(
    real_csv_dir, name, rows, header, label_column, classes
):
    dataset = load_dataset(real_csv_dir / name)
    assert dataset.images.shape == (rows, 28, 28, 1)
    assert dataset.images.dtype == np.uint8
    assert dataset.shape == (28, 28, 1)
    assert (dataset.header, dataset.label_column) == (header, label_column)
    assert dataset.classes == classes
    assert len(dataset.labels) == rows


def test_real_file_values_match_an_independent_reader(real_csv_dir):
    path = real_csv_dir / "prasertcbs_basic_dataset/mnist_28x28_2000rows.csv"
    reference = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64)
    dataset = load_dataset(path)
    assert np.array_equal(dataset.images.reshape(2000, -1), reference[:, :-1])
    assert dataset.labels.astype(int).tolist() == reference[:, -1].tolist()


def test_git_lfs_pointer_is_refused_saying_it_is_one(real_csv_dir):
    with pytest.raises(DatasetError, match=r"Git LFS pointer.*git lfs pull"):
        load_dataset(real_csv_dir / "negative_lfs_pointer/sign_mnist_test.csv")


def test_missing_file_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="file not found"):
        load_dataset(tmp_path / "nope.csv")


def test_folder_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError):
        load_dataset(tmp_path)


def test_gzip_file_loads_like_the_plain_one(tmp_path):
    text = csv_text(["a", "b", "c"], random_images(3, (4, 4, 3)))
    plain = load_dataset(write(tmp_path / "f.csv", text), use_cache=False)
    packed = load_dataset(write(tmp_path / "f.csv.gz", text, compress=True), use_cache=False)
    assert np.array_equal(plain.images, packed.images)
    assert plain.fingerprint == packed.fingerprint  # the content, not the compression


def test_gzip_is_recognised_by_its_magic_bytes_whatever_the_name(tmp_path):
    text = csv_text(["a"], random_images(1, (2, 2, 1)))
    assert len(load_dataset(write(tmp_path / "f.csv", text, compress=True))) == 1


def test_explicit_shape_as_text_is_used(tmp_path):
    path = write(tmp_path / "f.csv", csv_text(["a"], random_images(1, (2, 8, 3))))
    dataset = load_dataset(path, "2x8x3")
    assert dataset.images.shape == (1, 2, 8, 3)


def test_integer_classes_are_in_numeric_order():
    assert class_order(["10", "2", "1", "2"]) == ["1", "2", "10"]


def test_string_classes_are_sorted():
    assert class_order(["tulips", "daisy", "roses", "10"]) == ["10", "daisy", "roses", "tulips"]


def test_class_counts_follow_the_class_order(tmp_path):
    path = write(tmp_path / "f.csv", csv_text(["10", "2", "10"], random_images(3, (1, 1, 1))))
    assert load_dataset(path).class_counts() == {"2": 1, "10": 2}


def test_label_indices_default_to_the_datasets_own_classes(tmp_path):
    path = write(tmp_path / "f.csv", csv_text(["b", "a", "b"], random_images(3, (1, 1, 1))))
    dataset = load_dataset(path)
    assert dataset.label_indices().tolist() == [1, 0, 1]
    assert dataset.label_indices().dtype == np.int32


def test_label_indices_in_training_classes_map_a_test_file(tmp_path):
    path = write(tmp_path / "f.csv", csv_text(["b", "c"], random_images(2, (1, 1, 1))))
    assert load_dataset(path).label_indices(["a", "b", "c"]).tolist() == [1, 2]


def test_label_indices_list_labels_unknown_to_the_training_classes(tmp_path):
    path = write(tmp_path / "f.csv", csv_text(["b", "x", "y", "x"], random_images(4, (1, 1, 1))))
    with pytest.raises(DatasetError, match=r"2 label\(s\) not among the 2 known classes: 'x', 'y'"):
        load_dataset(path).label_indices(["a", "b"])


def test_encode_labels_accepts_an_empty_array():
    assert encode_labels(np.array([], dtype=str), ["a"]).tolist() == []


def test_summary_holds_the_inspect_fields(tmp_path):
    path = write(tmp_path / "f.csv", csv_text(["a", "b"], random_images(2, (2, 2, 1))))
    summary = load_dataset(path).summary()
    assert summary["rows"] == 2 and summary["shape"] == [2, 2, 1]
    assert summary["classes"] == ["a", "b"] and summary["class_counts"] == {"a": 1, "b": 1}
    assert summary["header"] is False and summary["label_column"] == 0


def test_bundled_flowers_csvs_hold_the_stratified_split():
    train_path = REPO_ROOT / "data" / "flowers_train.csv"
    test_path = REPO_ROOT / "data" / "flowers_test.csv"
    if not (train_path.exists() and test_path.exists()):
        pytest.skip("bundled CSVs not built yet (make data)")
    train = load_dataset(train_path)
    test = load_dataset(test_path)
    flowers = ["daisy", "dandelion", "roses", "sunflowers", "tulips"]
    assert train.images.shape == (375, 64, 64, 3) and test.images.shape == (125, 64, 64, 3)
    assert train.class_counts() == dict.fromkeys(flowers, 75)
    assert test.class_counts() == dict.fromkeys(flowers, 25)
