"""``RandomAffine``: the tutorial's ``ImageDataGenerator`` geometry as one Keras 3 layer.

``ImageDataGenerator`` composed rotation, shift, shear, zoom and flip into one affine matrix
about the image centre and resampled each image once. Keras 3 offers one layer per transform
(``RandomRotation``, ``RandomZoom``, ``RandomTranslation``, ``RandomShear``, ``RandomFlip``);
chained, they resample an image five times (blurrier) and cost about five times as much
(measured: ~2,000 vs ~10,000 images/s at 64x64x3, batch 32, on two shared cores). This
layer draws the same parameters per image, composes one matrix and makes one
``keras.ops.image.affine_transform`` call, the op those Keras layers use themselves. It is
registered as serializable, so a ``model.keras`` holding it loads with ``safe_mode=True``
once this module is imported (``flowerdash.predict.load_run_model`` does that).

Parameters (per image, uniform): angle in [-rotation, +rotation] degrees; scale in
[1 - zoom, 1 + zoom] (aspect kept); horizontal shear factor (tan of the angle) in
[-shear, +shear], about the centre; shift in [-width_shift, +width_shift] of the width and
[-height_shift, +height_shift] of the height; left-right mirror with probability 1/2.
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops


def affine_transform_rows(
    angle: Any,
    scale: Any,
    shear: Any,
    shift_x: Any,
    shift_y: Any,
    flip: Any,
    height: Any,
    width: Any,
) -> Any:
    """Rows ``[a0, a1, a2, b0, b1, b2, 0, 0]`` for ``keras.ops.image.affine_transform``.

    Each row maps an output pixel (x, y) to the input point it samples:
    ``p_in = c + R(angle) @ Shear(shear) @ scale @ Flip(flip) @ (p_out - c) + shift``, with
    ``c`` the image centre. Arguments are 1-D tensors (one value per image; ``angle`` in
    radians, ``flip`` -1 or 1, shifts in pixels) except ``height``/``width``, scalars.
    """
    cos, sin = ops.cos(angle), ops.sin(angle)
    m00 = cos * scale * flip
    m01 = (cos * shear - sin) * scale
    m10 = sin * scale * flip
    m11 = (sin * shear + cos) * scale
    center_x = (ops.cast(width, angle.dtype) - 1.0) / 2.0
    center_y = (ops.cast(height, angle.dtype) - 1.0) / 2.0
    a2 = center_x - m00 * center_x - m01 * center_y + shift_x
    b2 = center_y - m10 * center_x - m11 * center_y + shift_y
    zeros = ops.zeros_like(angle)
    return ops.stack([m00, m01, a2, m10, m11, b2, zeros, zeros], axis=1)


@keras.saving.register_keras_serializable(package="flowerdash")
class RandomAffine(keras.layers.Layer):
    """Random rotation, zoom, shift, shear and horizontal flip in one resampling.

    Active only in training (``training=True``, Keras' rule for random preprocessing layers);
    otherwise the identity. Works on float pixels of any range, ``(N, H, W, C)`` or
    ``(H, W, C)``. ``seed`` makes the sequence of draws repeatable.
    """

    def __init__(
        self,
        rotation: float = 0.0,
        zoom: float = 0.0,
        width_shift: float = 0.0,
        height_shift: float = 0.0,
        shear: float = 0.0,
        horizontal_flip: bool = False,
        fill_mode: str = "nearest",
        interpolation: str = "bilinear",
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.rotation = float(rotation)
        self.zoom = float(zoom)
        self.width_shift = float(width_shift)
        self.height_shift = float(height_shift)
        self.shear = float(shear)
        self.horizontal_flip = bool(horizontal_flip)
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images: Any, training: bool = True) -> Any:
        if not training:
            return images
        images = ops.convert_to_tensor(images, dtype=self.compute_dtype)
        unbatched = len(images.shape) == 3
        if unbatched:
            images = ops.expand_dims(images, 0)
        shape = ops.shape(images)
        count, height, width = shape[0], shape[1], shape[2]
        draws = keras.random.uniform(
            (count, 6), minval=-1.0, maxval=1.0, seed=self.generator, dtype=self.compute_dtype
        )
        flip = ops.ones_like(draws[:, 5])
        if self.horizontal_flip:
            flip = ops.where(draws[:, 5] < 0.0, -flip, flip)
        rows = affine_transform_rows(
            angle=draws[:, 0] * (self.rotation * math.pi / 180.0),
            scale=1.0 + draws[:, 1] * self.zoom,
            shear=draws[:, 2] * self.shear,
            shift_x=draws[:, 3] * self.width_shift * ops.cast(width, self.compute_dtype),
            shift_y=draws[:, 4] * self.height_shift * ops.cast(height, self.compute_dtype),
            flip=flip,
            height=height,
            width=width,
        )
        outputs = ops.image.affine_transform(
            images,
            rows,
            interpolation=self.interpolation,
            fill_mode=self.fill_mode,
            fill_value=0.0,
            data_format="channels_last",
        )
        return ops.squeeze(outputs, axis=0) if unbatched else outputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            rotation=self.rotation,
            zoom=self.zoom,
            width_shift=self.width_shift,
            height_shift=self.height_shift,
            shear=self.shear,
            horizontal_flip=self.horizontal_flip,
            fill_mode=self.fill_mode,
            interpolation=self.interpolation,
            seed=self.seed,
        )
        return config
