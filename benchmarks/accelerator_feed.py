"""Does the input pipeline keep a fast accelerator busy? Backend-agnostic (Keras 3).

Measured in one process on the same synthetic 64x64x3 data (a .npy memory-mapped like the
binary cache), side by side:
- the pipeline alone: ``ImageBatches`` over the memmap, shuffled, 1 and 4 worker threads;
- MiniVGGNet training images/s: ``memory`` (``fit`` on in-RAM arrays) vs ``stream``
  (``fit`` on ``ImageBatches`` over the memmap, 1 and 4 worker threads),
  with and without the augmentation block, at batch 32 (the product default) and 256.

Run with any Keras backend, e.g. on a GPU machine without TensorFlow:
``KERAS_BACKEND=jax python benchmarks/accelerator_feed.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras

from flowerdash.augment import AugmentSettings, build_augmentation
from flowerdash.data.batches import ImageBatches
from flowerdash.models import build_model
from flowerdash.train.optimizers import build_optimizer

SHAPE = (64, 64, 3)
CLASSES = 17


class _EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.last = time.perf_counter() - self.start


def pipeline_rate(images: np.ndarray, labels: np.ndarray, batch: int, workers: int) -> float:
    """Images/s of iterating one shuffled epoch of ImageBatches the way fit does."""
    from keras.src.trainers.data_adapters import get_data_adapter

    data = ImageBatches(images, labels, batch, shuffle=True, seed=0, workers=workers)
    adapter = get_data_adapter(data)
    start = time.perf_counter()
    seen = sum(len(x) for x, _ in adapter.get_numpy_iterator())
    elapsed = time.perf_counter() - start
    adapter.on_epoch_end()
    return seen / elapsed


def training_rate(
    data: object, labels: np.ndarray | None, batch: int, augment: bool, rows: int
) -> float:
    """Images/s of the second epoch (the first compiles) of MiniVGGNet on ``data``."""
    block = build_augmentation(AugmentSettings(), seed=0) if augment else None
    model = build_model("minivggnet", SHAPE, CLASSES, augmentation=block)
    model.compile(
        optimizer=build_optimizer("sgd", 0.01, 75),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    timer = _EpochTimer()
    if labels is None:
        model.fit(data, epochs=2, verbose=0, callbacks=[timer])
    else:
        model.fit(data, labels, batch_size=batch, epochs=2, verbose=0, callbacks=[timer])
    return rows / timer.last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=16384)
    args = parser.parse_args()
    rows = args.rows
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pixels.npy"
        stored = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(rows, *SHAPE))
        stored[:] = rng.integers(0, 256, size=stored.shape, dtype=np.uint8)
        stored.flush()
        del stored
        images = np.load(path, mmap_mode="r")
        labels = rng.integers(0, CLASSES, size=rows).astype(np.int32)
        in_ram = np.array(images)

        print(f"backend {keras.backend.backend()}, devices: {_devices()}")
        print(f"{rows} synthetic images {SHAPE[0]}x{SHAPE[1]}x{SHAPE[2]}, MiniVGGNet, SGD\n")
        print("pipeline alone (ImageBatches over the memmap, shuffled)")
        for batch in (32, 256):
            for workers in (1, 4):
                rate = pipeline_rate(images, labels, batch, workers)
                print(f"  batch {batch:>3}, {workers} worker(s): {rate:>10,.0f} images/s")
        print("\ntraining images/s (2nd epoch)    memory  stream, 1 worker  stream, 4 workers")
        for batch in (32, 256):
            for augment in (False, True):
                memory = training_rate(in_ram, labels, batch, augment, rows)
                cells = []
                for workers in (1, 4):
                    data = ImageBatches(images, labels, batch, shuffle=True, workers=workers)
                    stream = training_rate(data, None, batch, augment, rows)
                    cells.append(f"{stream:>8,.0f} ({stream / memory:.2f}x)")
                name = f"batch {batch}, {'augmented' if augment else 'plain'}"
                print(f"  {name:<26} {memory:>8,.0f}  {cells[0]:>16}  {cells[1]:>17}")


def _devices() -> str:
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return ", ".join(str(d) for d in jax.devices())
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return os.environ.get("CUDA_VISIBLE_DEVICES", "default")


if __name__ == "__main__":
    main()
