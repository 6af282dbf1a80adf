"""RandomAffine: the composed transform is geometrically right, and the layer behaves."""

from __future__ import annotations

import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from keras import ops  # noqa: E402

from flowerdash.augment_layer import RandomAffine, affine_transform_rows  # noqa: E402

SIZE = 7


@pytest.fixture
def image() -> np.ndarray:
    return np.arange(SIZE * SIZE, dtype=np.float32).reshape(1, SIZE, SIZE, 1)


def _apply(image, *, angle=0.0, scale=1.0, shear=0.0, shift_x=0.0, shift_y=0.0, flip=1.0):
    def one(value):
        return ops.convert_to_tensor([value], dtype="float32")

    rows = affine_transform_rows(
        one(angle), one(scale), one(shear), one(shift_x), one(shift_y), one(flip), SIZE, SIZE
    )
    out = ops.image.affine_transform(image, rows, "bilinear", "constant", 0.0, "channels_last")
    return np.rint(ops.convert_to_numpy(out))[0, ..., 0]


def test_neutral_parameters_leave_the_image_unchanged(image):
    assert np.array_equal(_apply(image), image[0, ..., 0])


def test_quarter_turn_rotates_about_the_centre(image):
    turned = _apply(image, angle=math.pi / 2)
    assert np.array_equal(turned, np.rot90(image[0, ..., 0], k=1)) or np.array_equal(
        turned, np.rot90(image[0, ..., 0], k=-1)
    )


def test_flip_mirrors_left_to_right(image):
    assert np.array_equal(_apply(image, flip=-1.0), image[0, :, ::-1, 0])


def test_shift_moves_the_content_by_whole_pixels(image):
    moved = _apply(image, shift_x=2.0)
    assert np.array_equal(moved[:, : SIZE - 2], image[0, :, 2:, 0])
    assert not moved[:, SIZE - 2 :].any()  # filled with the constant 0


def test_shear_keeps_the_centre_row(image):
    sheared = _apply(image, shear=0.5)
    assert np.array_equal(sheared[SIZE // 2], image[0, SIZE // 2, :, 0])


def test_layer_is_the_identity_outside_training(image):
    layer = RandomAffine(rotation=30, zoom=0.2, horizontal_flip=True, seed=0)
    assert np.array_equal(ops.convert_to_numpy(layer(image, training=False)), image)


def test_layer_repeats_its_draws_for_the_same_seed(image):
    batch = np.repeat(image, 4, axis=0)
    first = RandomAffine(rotation=30, zoom=0.2, seed=4)(batch, training=True)
    second = RandomAffine(rotation=30, zoom=0.2, seed=4)(batch, training=True)
    assert np.array_equal(ops.convert_to_numpy(first), ops.convert_to_numpy(second))


def test_flip_alone_mirrors_some_images_and_keeps_the_others_exactly(image):
    batch = np.repeat(image, 16, axis=0)
    out = ops.convert_to_numpy(RandomAffine(horizontal_flip=True, seed=1)(batch, training=True))
    mirrored = [np.array_equal(o, image[0, :, ::-1]) for o in out]
    kept = [np.array_equal(o, image[0]) for o in out]
    assert all(m or k for m, k in zip(mirrored, kept, strict=True))
    assert any(mirrored) and any(kept)


def test_single_image_without_batch_axis_keeps_its_shape(image):
    out = RandomAffine(rotation=10, seed=0)(image[0], training=True)
    assert tuple(out.shape) == (SIZE, SIZE, 1)


def test_config_round_trip_rebuilds_the_same_layer():
    layer = RandomAffine(rotation=12, zoom=0.1, shear=0.2, fill_mode="wrap", seed=3)
    again = RandomAffine.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
