"""The Keras PyDataset over image arrays: lengths, orders, workers, memmaps."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from flowerdash.data.batches import ImageBatches  # noqa: E402

N = 37


@pytest.fixture
def images() -> np.ndarray:
    # Image i holds the value i everywhere, so a batch tells which rows it carries.
    return np.broadcast_to(np.arange(N, dtype=np.uint8)[:, None, None, None], (N, 2, 2, 1)).copy()


def _rows_of(batch_images: np.ndarray) -> list[int]:
    return [int(image[0, 0, 0]) for image in batch_images]


def _all_rows(batches) -> list[int]:
    return [row for batch_images, *_ in batches for row in _rows_of(batch_images)]


def test_length_is_ceil_of_samples_over_batch_size(images):
    assert len(ImageBatches(images, np.zeros(N), 8)) == 5
    assert len(ImageBatches(images[:32], np.zeros(32), 8)) == 4


def test_evaluation_order_is_file_order_once_with_a_short_last_batch(images):
    batches = ImageBatches(images, np.arange(N), 8)
    seen = [batches[i] for i in range(len(batches))]
    assert [len(x) for x, _ in seen] == [8, 8, 8, 8, 5]
    assert _all_rows(seen) == list(range(N))
    assert np.concatenate([y for _, y in seen]).tolist() == list(range(N))


def test_labels_travel_with_their_images_when_shuffled(images):
    batches = ImageBatches(images, np.arange(N), 8, shuffle=True, seed=1)
    for i in range(len(batches)):
        x, y = batches[i]
        assert _rows_of(x) == y.tolist()


def test_training_epoch_yields_every_sample_exactly_once(images):
    batches = ImageBatches(images, np.arange(N), 8, shuffle=True, seed=1)
    rows = _all_rows(batches[i] for i in range(len(batches)))
    assert sorted(rows) == list(range(N))


def test_training_order_changes_each_epoch(images):
    batches = ImageBatches(images, np.arange(N), 8, shuffle=True, seed=1)
    first = batches.rows(0).tolist()
    batches.on_epoch_end()
    assert batches.rows(0).tolist() != first


def test_training_order_repeats_for_the_same_seed_and_epoch(images):
    one = ImageBatches(images, np.arange(N), 8, shuffle=True, seed=5)
    one.on_epoch_end()
    other = ImageBatches(images, np.arange(N), 8, shuffle=True, seed=5, epoch=1)
    assert [one.rows(i).tolist() for i in range(5)] == [other.rows(i).tolist() for i in range(5)]


def test_index_past_the_end_raises_index_error(images):
    with pytest.raises(IndexError):
        ImageBatches(images, np.arange(N), 8)[5]


def test_batches_from_a_read_only_memmap_are_plain_writable_copies(images, tmp_path):
    path = tmp_path / "images.u8"
    images.tofile(path)
    mapped = np.memmap(path, dtype=np.uint8, mode="r", shape=images.shape)
    x, _ = ImageBatches(mapped, np.arange(N), 8, shuffle=True)[0]
    assert type(x) is np.ndarray
    assert x.flags.writeable


def test_prediction_with_worker_threads_keeps_file_order(images):
    model = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten()])
    batches = ImageBatches(images, None, 4, workers=3)
    predicted = model.predict(batches, verbose=0)
    assert predicted[:, 0].astype(int).tolist() == list(range(N))


def test_training_epoch_through_keras_with_worker_threads_sees_each_sample_once(images):
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

    batches = ImageBatches(images, np.arange(N), 4, shuffle=True, seed=2, workers=3)
    adapter = PyDatasetAdapter(batches, shuffle=False)
    adapter.on_epoch_begin()
    rows = _all_rows(adapter.get_numpy_iterator())
    adapter.on_epoch_end()
    assert sorted(rows) == list(range(N))
