"""Augmentation settings, declared once, and the Keras 3 layers they build.

``AUGMENT_PARAMS`` declares each parameter (default = the tutorial's, unit, limits, help) for the
CLI options and the dashboard's widgets; :class:`AugmentSettings` holds the values;
:func:`build_augmentation` turns them into a seeded ``keras.Sequential`` of ``Random*`` layers.
Training places that block at the model's input (active only while training), and
:func:`preview_augmentations` / :func:`augment_batch` run the very same block, so what the
preview shows is what training applies.

How the tutorial's ``ImageDataGenerator`` arguments map to Keras 3 (the values are the same
numbers; the units are those the help texts state):

- ``rotation_range=20`` (degrees): ``rotation`` 20 degrees; Keras' ``RandomRotation`` would
  take ``factor=20/360`` (a fraction of a turn).
- ``zoom_range=0.15``: ``zoom`` 0.15, scale by 85 % to 115 %, aspect kept; Keras'
  ``RandomZoom(height_factor=(-0.15, 0.15))``.
- ``width_shift_range=0.2``, ``height_shift_range=0.2``: fractions of the width / height;
  Keras' ``RandomTranslation(0.2, 0.2)``.
- ``shear_range=0.15``: Keras 2.0/2.1 read it as radians (about 8.6 degrees); from Keras 2.2
  on (the tutorial's time) it was degrees, so 0.15 gave no visible shear at all, surely not
  what was meant. We expose shear in Keras 3 ``RandomShear``'s unit: a fraction, the
  horizontal shift per row (the tangent of the shear angle), and keep the number 0.15: up to
  about 8.5 degrees, a visible but mild shear.
- ``horizontal_flip=True``: Keras' ``RandomFlip("horizontal")``.
- ``fill_mode="nearest"``: the same four modes as Keras' geometric layers.

Like ``ImageDataGenerator``, and unlike a chain of those five Keras layers, the block applies
all of them as one affine transform about the image centre with one resampling
(``flowerdash.augment_layer.RandomAffine``, built on ``keras.ops.image.affine_transform``):
sharper, and about five times faster than the chain.

Keras is imported inside functions only: importing this module is cheap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from flowerdash.settings import DeclaredSettings, ParamSpec

if TYPE_CHECKING:
    import keras

FILL_MODES = ("nearest", "reflect", "wrap", "constant")

AUGMENT_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "rotation",
        "Rotation",
        "float",
        20.0,
        "Each image turns by a random angle between -x and +x degrees (Keras' "
        "RandomRotation would take x / 360, a fraction of a turn). 0 turns it off.",
        unit="degrees",
        minimum=0.0,
        maximum=180.0,
        step=1.0,
    ),
    ParamSpec(
        "zoom",
        "Zoom",
        "float",
        0.15,
        "Each image is scaled by a random factor between 1-x and 1+x, keeping its aspect "
        "ratio (0.15: 85 % to 115 %). 0 turns it off.",
        unit="fraction",
        minimum=0.0,
        maximum=0.9,
        step=0.01,
    ),
    ParamSpec(
        "width_shift",
        "Horizontal shift",
        "float",
        0.2,
        "Each image moves left or right by up to this fraction of its width (0.2: 20 %).",
        unit="fraction of width",
        minimum=0.0,
        maximum=1.0,
        step=0.01,
    ),
    ParamSpec(
        "height_shift",
        "Vertical shift",
        "float",
        0.2,
        "Each image moves up or down by up to this fraction of its height (0.2: 20 %).",
        unit="fraction of height",
        minimum=0.0,
        maximum=1.0,
        step=0.01,
    ),
    ParamSpec(
        "shear",
        "Shear",
        "float",
        0.15,
        "Slants each image horizontally: every row moves sideways by up to x times its "
        "distance from the top (Keras 3 RandomShear; the tangent of the shear angle, so "
        "0.15 is about 8.5 degrees). Not degrees: the tutorial's shear_range=0.15 was "
        "degrees and barely visible. 0 turns it off.",
        unit="fraction (tan of angle)",
        minimum=0.0,
        maximum=1.0,
        step=0.01,
    ),
    ParamSpec(
        "horizontal_flip",
        "Horizontal flip",
        "bool",
        True,
        "Mirror half of the images left to right, at random.",
    ),
    ParamSpec(
        "fill_mode",
        "Fill mode",
        "choice",
        "nearest",
        "How pixels that move in from outside the image are filled: nearest repeats the edge "
        "pixel, reflect mirrors the image at its edge, wrap tiles it, constant paints black.",
        choices=FILL_MODES,
    ),
)


@dataclass(frozen=True)
class AugmentSettings(DeclaredSettings):
    """Values of the parameters in ``AUGMENT_PARAMS``; the defaults are the tutorial's."""

    PARAMS: ClassVar[tuple[ParamSpec, ...]] = AUGMENT_PARAMS
    WHAT: ClassVar[str] = "augmentation"

    rotation: float = 20.0
    zoom: float = 0.15
    width_shift: float = 0.2
    height_shift: float = 0.2
    shear: float = 0.15
    horizontal_flip: bool = True
    fill_mode: str = "nearest"

    @property
    def is_identity(self) -> bool:
        """True when no parameter changes an image."""
        return not (
            self.rotation
            or self.zoom
            or self.width_shift
            or self.height_shift
            or self.shear
            or self.horizontal_flip
        )

    @property
    def shear_degrees(self) -> float:
        """The largest shear angle, in degrees, that ``shear`` allows."""
        return math.degrees(math.atan(self.shear))

    def summary(self) -> str:
        """One line on what the settings do, e.g. ``"rotation ±20°, zoom ±15%, ..., fill
        nearest"``; ``"none ..."`` when no parameter changes an image."""
        if self.is_identity:
            return "none (every parameter is 0)"
        parts = [
            f"rotation ±{self.rotation:g}°" if self.rotation else "",
            f"zoom ±{self.zoom:.0%}" if self.zoom else "",
            f"shift {self.width_shift:.0%} × {self.height_shift:.0%}"
            if self.width_shift or self.height_shift
            else "",
            f"shear {self.shear:g} (≈{self.shear_degrees:.0f}°)" if self.shear else "",
            "horizontal flip" if self.horizontal_flip else "",
            f"fill {self.fill_mode}",
        ]
        return ", ".join(part for part in parts if part)


def build_augmentation(settings: AugmentSettings, seed: int | None = None) -> keras.Sequential:
    """Return a ``keras.Sequential`` named ``"augmentation"`` applying ``settings``.

    The block works on float pixels (0-255 here), is active only with ``training=True``
    (Keras' rule for random preprocessing layers), and draws from ``seed``: a fresh block with
    the same seed repeats the same transformations. Settings that change nothing give an empty
    block.
    """
    import keras

    from flowerdash.augment_layer import RandomAffine

    if settings.is_identity:
        return keras.Sequential([], name="augmentation")
    # The layer's parameters are the declared settings, name for name.
    affine = RandomAffine(**settings.to_dict(), seed=seed, name="random_affine")
    return keras.Sequential([affine], name="augmentation")


def _to_uint8(images: Any) -> np.ndarray:
    return np.clip(np.rint(np.asarray(images, dtype=np.float32)), 0, 255).astype(np.uint8)


def augment_batch(
    images: np.ndarray, settings: AugmentSettings, seed: int | None = None
) -> np.ndarray:
    """Return one batch ``(N, H, W, C)`` of uint8 images as training sees them after augmentation.

    Uses :func:`build_augmentation`, the block training puts at the model's input.
    """
    batch = np.asarray(images)
    if batch.ndim != 4:
        raise ValueError(f"expected a batch of images (N, H, W, C), got shape {batch.shape}")
    if settings.is_identity:
        return batch.astype(np.uint8, copy=True)
    block = build_augmentation(settings, seed)
    return _to_uint8(block(batch.astype(np.float32), training=True))


def preview_augmentations(
    images: np.ndarray, settings: AugmentSettings, n: int = 8, seed: int = 0
) -> np.ndarray:
    """Return ``n`` augmented variants of each image, uint8, for a given ``seed``.

    ``images`` is one image ``(H, W, C)`` -> result ``(n, H, W, C)``, or a batch
    ``(K, H, W, C)`` -> result ``(K, n, H, W, C)``. The same seed gives the same variants.
    """
    array = np.asarray(images)
    single = array.ndim == 3
    batch = array[None] if single else array
    if batch.ndim != 4:
        raise ValueError(f"expected an image (H, W, C) or images (K, H, W, C), got {array.shape}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    repeated = np.repeat(batch, n, axis=0)  # image 0 n times, then image 1 n times, ...
    variants = augment_batch(repeated, settings, seed).reshape(
        (batch.shape[0], n, *batch.shape[1:])
    )
    return variants[0] if single else variants


#: Named starting points: ``photos`` is the tutorial's (flip and affine), ``glyphs`` suits
#: digits and letters (no flip or shear, which turn one character into another; small
#: rotation, shift and zoom), ``none`` leaves images as they are.
AUGMENT_PRESETS: dict[str, AugmentSettings] = {
    "photos": AugmentSettings(),
    "glyphs": AugmentSettings(
        rotation=10.0,
        zoom=0.1,
        width_shift=0.1,
        height_shift=0.1,
        shear=0.0,
        horizontal_flip=False,
    ),
    "none": AugmentSettings(
        rotation=0.0,
        zoom=0.0,
        width_shift=0.0,
        height_shift=0.0,
        shear=0.0,
        horizontal_flip=False,
    ),
}

#: Flip warning threshold: grayscale images at most this many pixels a side are likely glyphs.
SMALL_GRAYSCALE_SIDE = 48


def augment_preset(name: str) -> AugmentSettings:
    """The preset ``name``; raises ConfigError for an unknown one."""
    from flowerdash.errors import ConfigError

    if name not in AUGMENT_PRESETS:
        raise ConfigError(
            f"unknown augmentation preset {name!r}; expected one of: {', '.join(AUGMENT_PRESETS)}"
        )
    return AUGMENT_PRESETS[name]


def flip_warning(settings: AugmentSettings, shape: tuple[int, int, int] | None) -> str | None:
    """A warning when horizontal flip is on for small grayscale images (digits, letters: a
    mirrored character is often another one or none), else None."""
    if not settings.horizontal_flip or shape is None:
        return None
    height, width, channels = shape
    if channels != 1 or max(height, width) > SMALL_GRAYSCALE_SIDE:
        return None
    return (
        f"Horizontal flip is on for small grayscale images ({height}x{width}x1): if these are "
        "digits or letters, a mirrored one is another character or none. The `glyphs` preset "
        "turns flip and shear off."
    )
