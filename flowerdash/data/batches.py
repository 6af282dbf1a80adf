"""Feeding Keras: a ``keras.utils.PyDataset`` over an image array and its label indices.

The modern replacement of the tutorial's wrap-around CSV generator:

- ``len`` is ``ceil(N / batch_size)``; the last batch is short, never padded or wrapped;
- training order (``shuffle=True``) is a fresh permutation each epoch, drawn from
  ``(seed, epoch)`` so a resumed run continues the same sequence of orders;
- evaluation order (``shuffle=False``) is file order, every sample exactly once;
- a batch is read by indexing the images array (typically the cache's read-only memmap) with
  that batch's rows only, so memory stays bounded however large the file;
- ``__getitem__`` depends only on the index and the epoch's order, so worker threads
  (``workers > 1``) neither duplicate nor skip samples.

Training batches can be mixed (mixup, CutMix): :class:`MixedBatches`, same order, soft targets.

This is the only data module that imports Keras (at import time: import it lazily).
"""

from __future__ import annotations

import math

import keras
import numpy as np

from flowerdash.settings import MIX_METHODS


class ImageBatches(keras.utils.PyDataset):
    """Batches ``(images[rows], labels[rows])`` of uint8 pixels and int32 class indices.

    ``images``: uint8 ``(N, H, W, C)``, possibly a read-only memmap (never loaded whole).
    ``labels``: ``(N,)`` integer class indices, or None for prediction (batches are then images
    only). ``workers``/``max_queue_size`` go to ``PyDataset``; threads, not processes, are used,
    since pickling a memmap to a process would copy it.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray | None,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
        epoch: int = 0,
        workers: int = 1,
        max_queue_size: int = 10,
    ) -> None:
        super().__init__(workers=workers, use_multiprocessing=False, max_queue_size=max_queue_size)
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if labels is not None and len(labels) != len(images):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = images
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int32)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.epoch = int(epoch)
        self._order = self._order_for(self.epoch)

    def _order_for(self, epoch: int) -> np.ndarray | None:
        if not self.shuffle:
            return None
        return np.random.default_rng((self.seed, epoch)).permutation(len(self.images))

    def set_epoch(self, epoch: int) -> None:
        """Use the order of epoch ``epoch`` (0-based) from now on (used when resuming)."""
        self.epoch = int(epoch)
        self._order = self._order_for(self.epoch)

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def rows(self, index: int) -> np.ndarray:
        """The row numbers (sorted) of batch ``index`` in the current epoch's order."""
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range 0..{len(self) - 1}")
        start, stop = index * self.batch_size, min((index + 1) * self.batch_size, len(self.images))
        if self._order is None:
            return np.arange(start, stop)
        # Sorted rows read the memmap front to back; the order inside a batch does not matter.
        return np.sort(self._order[start:stop])

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        if self._order is None:
            start = index * self.batch_size
            if not 0 <= index < len(self):
                raise IndexError(f"batch {index} out of range 0..{len(self) - 1}")
            rows = slice(start, start + self.batch_size)
        else:
            rows = self.rows(index)
        images = np.array(self.images[rows], dtype=np.uint8, copy=True)
        if self.labels is None:
            return (images,)
        return images, self.labels[rows]

    def on_epoch_end(self) -> None:
        """Move to the next epoch's order (Keras calls this after every epoch)."""
        self.set_epoch(self.epoch + 1)


#: The last entry of a mixed batch's seed, so its draws never repeat the shuffling's.
MIX_STREAM = 0x6D6978  # "mix"


def mix_batch(
    images: np.ndarray,
    labels: np.ndarray,
    num_classes: int,
    method: str,
    alpha: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Mix a batch with a permutation of itself; return float32 images (0-255) and float32
    soft targets ``(B, num_classes)`` (each row sums to 1).

    One ``lam ~ Beta(alpha, alpha)`` per batch. ``mixup`` (Zhang et al. 2018): every pixel is
    ``lam x image + (1 - lam) x partner``, and so is the target. ``cutmix`` (Yun et al. 2019): a
    box of area share ``1 - lam`` centred at a uniform pixel, clipped to the image, is pasted
    from the partner; ``lam`` is then recomputed as the share of the image left unpasted, so
    the target's mass matches the pixels exactly.
    """
    count = len(labels)
    lam = float(rng.beta(alpha, alpha))
    partner = rng.permutation(count)
    one_hot = np.eye(num_classes, dtype=np.float32)[np.asarray(labels, dtype=np.int64)]
    pixels = images.astype(np.float32)
    if method == "mixup":
        pixels = lam * pixels + (1.0 - lam) * pixels[partner]
    elif method == "cutmix":
        height, width = pixels.shape[1:3]
        ratio = np.sqrt(1.0 - lam)
        cut_h, cut_w = int(height * ratio), int(width * ratio)
        centre_y, centre_x = int(rng.integers(height)), int(rng.integers(width))
        top, bottom = np.clip((centre_y - cut_h // 2, centre_y + cut_h // 2), 0, height)
        left, right = np.clip((centre_x - cut_w // 2, centre_x + cut_w // 2), 0, width)
        pixels[:, top:bottom, left:right] = pixels[partner, top:bottom, left:right]
        lam = 1.0 - float((bottom - top) * (right - left)) / (height * width)
    else:
        raise ValueError(f"unknown mixing method {method!r}; expected mixup or cutmix")
    targets = lam * one_hot + (1.0 - lam) * one_hot[partner]
    return pixels, targets.astype(np.float32)


class MixedBatches(ImageBatches):
    """Training batches mixed by mixup or CutMix: float32 images (0-255) and float32 soft
    targets ``(B, num_classes)``; always in training order (validation is never mixed).

    Each batch's draws (``lam``, the partner permutation, CutMix's box) come from
    ``np.random.default_rng((seed, epoch, index, MIX_STREAM))``, so a batch depends only on
    (seed, epoch, index), like the shuffling: worker threads and a resume see the same batches.
    Keras' ``keras.layers.MixUp``/``CutMix`` draw from a stateful ``SeedGenerator`` instead,
    whose sequence depends on the order batches are drawn in and is not in the backup, so
    with worker threads or after a resume it does not repeat; hence NumPy here.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        batch_size: int,
        *,
        num_classes: int,
        method: str,
        alpha: float,
        seed: int = 0,
        epoch: int = 0,
        workers: int = 1,
        max_queue_size: int = 10,
    ) -> None:
        if method not in MIX_METHODS[1:]:
            raise ValueError(f"unknown mixing method {method!r}; expected mixup or cutmix")
        if alpha <= 0:
            raise ValueError(f"alpha must be positive, got {alpha}")
        super().__init__(
            images,
            labels,
            batch_size,
            shuffle=True,
            seed=seed,
            epoch=epoch,
            workers=workers,
            max_queue_size=max_queue_size,
        )
        self.num_classes = int(num_classes)
        self.method = method
        self.alpha = float(alpha)

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        images, labels = super().__getitem__(index)
        rng = np.random.default_rng((self.seed, self.epoch, index, MIX_STREAM))
        return mix_batch(images, labels, self.num_classes, self.method, self.alpha, rng)
