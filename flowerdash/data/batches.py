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

This is the only data module that imports Keras (at import time: import it lazily).
"""

from __future__ import annotations

import math

import keras
import numpy as np


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
