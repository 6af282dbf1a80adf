"""The Keras PyDataset over image arrays: lengths, orders, workers, memmaps."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from flowerdash.data.batches import ImageBatches, MixedBatches, mix_batch  # noqa: E402

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


# Mixed training batches (mixup, CutMix).

CLASSES = 4


def _labelled(count: int = N) -> tuple[np.ndarray, np.ndarray]:
    """Image i is filled with its label's value (0, 60, 120, 180), so pixels tell the source."""
    labels = np.arange(count) % CLASSES
    images = np.broadcast_to(
        (labels * 60).astype(np.uint8)[:, None, None, None], (count, 8, 10, 1)
    ).copy()
    return images, labels


def _mixed(method: str, **kwargs) -> MixedBatches:
    images, labels = _labelled()
    values = {"seed": 3, "epoch": 0, "alpha": 1.0, **kwargs}
    return MixedBatches(images, labels, 8, num_classes=CLASSES, method=method, **values)


@pytest.mark.parametrize("method", ["mixup", "cutmix"])
def test_mixed_targets_are_distributions_of_float32(method):
    for index in range(len(_mixed(method))):
        images, targets = _mixed(method)[index]
        assert images.dtype == np.float32 and targets.dtype == np.float32
        assert targets.shape == (len(images), CLASSES)
        assert (targets >= 0).all() and np.allclose(targets.sum(axis=1), 1.0)
        assert images.min() >= 0 and images.max() <= 255


def test_mixup_target_mass_follows_the_pixel_blend():
    batches = _mixed("mixup")
    source_labels = _labelled()[1]
    for index in range(len(batches)):
        images, targets = batches[index]
        labels = source_labels[batches.rows(index)]
        for image, target, label in zip(images, targets, labels, strict=True):
            # A pixel is lam x own + (1 - lam) x partner: solve for the partner's share.
            own = target[label]
            others = [k for k in range(CLASSES) if k != label and target[k] > 0]
            if not others:  # mixed with an image of its own class
                assert own == pytest.approx(1.0) and image[0, 0, 0] == pytest.approx(label * 60)
                continue
            (partner,) = others
            expected = own * label * 60 + target[partner] * partner * 60
            assert np.allclose(image, expected, atol=1e-3)


def test_cutmix_target_mass_is_the_pasted_area_share():
    batches = _mixed("cutmix")
    source_labels = _labelled()[1]
    pasted_somewhere = False
    for index in range(len(batches)):
        images, targets = batches[index]
        labels = source_labels[batches.rows(index)]
        for image, target, label in zip(images, targets, labels, strict=True):
            own_share = float(np.mean(image == label * 60))
            if target[label] < 1 - 1e-6:  # a partner of another class: its pixels show
                pasted_somewhere = True
                assert target[label] == pytest.approx(own_share, abs=1e-6)
                partner = int(np.argmax(np.where(np.arange(CLASSES) == label, -1, target)))
                assert target[partner] == pytest.approx(np.mean(image == partner * 60))
    assert pasted_somewhere


def test_cutmix_box_is_clipped_to_the_image_and_lambda_recomputed():
    images, labels = _labelled(2)
    labels = np.array([0, 1])
    for seed in range(20):
        rng = np.random.default_rng(seed)
        mixed, targets = mix_batch(images, labels, 2, "cutmix", 1.0, rng)
        for image, target, label in zip(mixed, targets, labels, strict=True):
            assert target[label] == pytest.approx(np.mean(image == label * 60), abs=1e-6)


@pytest.mark.parametrize("method", ["mixup", "cutmix"])
def test_a_mixed_batch_depends_only_on_seed_epoch_and_index(method):
    first = _mixed(method, epoch=2)
    forward = [first[i] for i in range(len(first))]
    second = _mixed(method)  # another object, reaching epoch 2 by set_epoch, read backwards
    second.set_epoch(2)
    backward = [second[i] for i in reversed(range(len(second)))][::-1]
    for (x1, y1), (x2, y2) in zip(forward, backward, strict=True):
        assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    other_epoch = _mixed(method, epoch=3)[0]
    other_seed = _mixed(method, epoch=2, seed=4)[0]
    assert not np.array_equal(other_epoch[1], forward[0][1])
    assert not np.array_equal(other_seed[1], forward[0][1])


def test_mixed_batches_keep_the_training_order_of_plain_batches():
    images, labels = _labelled()
    plain = ImageBatches(images, labels, 8, shuffle=True, seed=3, epoch=1)
    mixed = MixedBatches(
        images, labels, 8, num_classes=CLASSES, method="mixup", alpha=0.2, seed=3, epoch=1
    )
    assert all(np.array_equal(plain.rows(i), mixed.rows(i)) for i in range(len(plain)))


def test_validation_batches_are_never_mixed():
    images, labels = _labelled()
    validation = ImageBatches(images, labels, 8)
    batch_images, batch_labels = validation[0]
    assert batch_images.dtype == np.uint8 and batch_labels.dtype == np.int32
    assert batch_labels.ndim == 1
    with pytest.raises(ValueError, match="unknown mixing method"):
        MixedBatches(images, labels, 8, num_classes=CLASSES, method="none", alpha=0.2)
