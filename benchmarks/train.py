"""Training speed and memory: flowerdash's modes vs the tutorial's generator, side by side.

Generates 64x64x3 CSVs (random pixels, 5 labels) in a temporary folder and measures, in this
one process, on the same data and the same MiniVGGNet (one model with augmentation, one
without, each built once so every input path runs the same compiled train step):

- images/s of one training epoch for ``memory`` (fit on arrays), ``stream`` from the CSV
  (parsed, no cache), ``stream`` from the binary cache (memmap), ``manual`` (train_on_batch),
  and the tutorial's Python generator (reads the CSV line by line, ``int()`` per value, fed to
  ``fit``), each with and without augmentation; rounds are interleaved and the median kept;
- augmentation placed in the data pipeline (applied per batch in the PyDataset, the
  tutorial's ``aug.flow`` way) against in the model (flowerdash's choice);
- the input pipeline alone, no model: PyDataset batches from the cache (direct, and through
  Keras' own adapter as ``fit`` consumes them), the augmentation block on those batches, and
  the tutorial generator;
- peak RSS of ``stream`` training (one epoch, fresh process) on a CSV and on one 10x larger.

Usage: ``python benchmarks/train.py [--rows 512] [--rounds 3] [--rss-rows 256]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from flowerdash.augment import AugmentSettings, build_augmentation
from flowerdash.data import load_dataset
from flowerdash.data.convert import format_line

SHAPE = (64, 64, 3)
CLASSES = ["daisy", "dandelion", "roses", "sunflowers", "tulips"]
BATCH = 32


def generate(path: Path, rows: int, seed: int = 0) -> Path:
    """Write ``rows`` random 64x64x3 images with flower labels as a headerless CSV."""
    rng = np.random.default_rng(seed)
    with open(path, "wb") as handle:
        for start in range(0, rows, 256):
            count = min(256, rows - start)
            images = rng.integers(0, 256, size=(count, *SHAPE), dtype=np.uint8)
            labels = [CLASSES[i % len(CLASSES)] for i in range(start, start + count)]
            handle.writelines(
                format_line(label, image) for label, image in zip(labels, images, strict=True)
            )
    return path


def tutorial_generator(
    path: Path, batch_size: int, class_index: dict[str, int], augment: Callable | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The tutorial's ``csv_image_generator``: readline, split, ``int()`` per value, wrap around.

    ``augment`` stands for its ``aug.flow(...)`` call (ImageDataGenerator is gone from Keras 3;
    the same Keras augmentation block is applied to the batch instead).
    """
    handle = open(path)  # noqa: SIM115 - the tutorial's generator holds it open forever
    while True:
        images, labels = [], []
        while len(images) < batch_size:
            line = handle.readline()
            if line == "":
                handle.seek(0)
                line = handle.readline()
            values = line.strip().split(",")
            labels.append(class_index[values[0]])
            images.append(np.array([int(x) for x in values[1:]], dtype="uint8").reshape(SHAPE))
        batch = np.array(images)
        if augment is not None:
            batch = np.asarray(augment(batch.astype("float32"), training=True))
        yield batch, np.array(labels, dtype="int32")


class BatchClock:
    """Steady-state time per batch: intervals between consecutive batch ends in an epoch.

    The first batch of each epoch (set-up, iterator start) is left out and the median taken,
    so the figures resist the bursts of load of a shared machine.
    """

    def __init__(self) -> None:
        self.intervals: list[float] = []
        self._last: float | None = None

    def epoch_start(self) -> None:
        self._last = None

    def batch_end(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.intervals.append(now - self._last)
        self._last = now

    def callback(self):
        import keras

        clock = self

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                clock.epoch_start()

            def on_train_batch_end(self, batch, logs=None):
                clock.batch_end()

        return Callback()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=512, help="training images (512)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--rss-rows", type=int, default=256, help="rows of the small RSS file")
    args = parser.parse_args()

    import keras

    from flowerdash.data.batches import ImageBatches
    from flowerdash.models import build_model
    from flowerdash.train.optimizers import build_optimizer

    with tempfile.TemporaryDirectory(prefix="flowerdash-bench-train-") as folder:
        base = Path(folder)
        os.environ["FLOWERDASH_CACHE_DIR"] = str(base / "cache")
        path = generate(base / "train.csv", args.rows)
        parsed = load_dataset(path, use_cache=False)
        cached = load_dataset(path)  # writes the cache
        cached = load_dataset(path)  # opens it (memmap)
        assert cached.from_cache
        classes = parsed.classes
        index = {name: i for i, name in enumerate(classes)}
        labels = parsed.label_indices()
        n = len(labels)
        steps = -(-n // BATCH)
        print(
            f"data: {n} images 64x64x3 ({path.stat().st_size / 1e6:.0f} MB CSV), batch {BATCH}, "
            f"{steps} steps per epoch; {os.cpu_count()} CPU cores; keras {keras.__version__} "
            f"({keras.backend.backend()})"
        )

        settings = AugmentSettings()
        models = {}
        for augmented in (False, True):
            keras.utils.set_random_seed(0)
            block = build_augmentation(settings, 0) if augmented else None
            model = build_model("minivggnet", SHAPE, len(classes), augmentation=block)
            model.compile(build_optimizer("sgd", 0.01, 75), "sparse_categorical_crossentropy",
                          metrics=["accuracy"])  # fmt: skip
            models[augmented] = model
        pipeline_block = build_augmentation(settings, 1)

        class PipelineAugmented(ImageBatches):
            """Augmentation in the data pipeline instead of the model (for comparison)."""

            def __getitem__(self, i):
                x, y = super().__getitem__(i)
                return np.asarray(pipeline_block(x.astype("float32"), training=True)), y

        def fit(model, data, **kwargs):
            def run(clock: BatchClock) -> None:
                source = data() if callable(data) else data
                model.fit(source, epochs=1, verbose=0, callbacks=[clock.callback()], **kwargs)

            return run

        def manual(model):
            def run(clock: BatchClock) -> None:
                batches = ImageBatches(cached.images, labels, BATCH, shuffle=True)
                clock.epoch_start()
                for i in range(len(batches)):
                    model.train_on_batch(*batches[i])
                    clock.batch_end()

            return run

        configs: dict[str, Callable[[bool], Callable[[BatchClock], None]]] = {
            "memory (fit on arrays)": lambda a: fit(
                models[a], np.asarray(parsed.images), y=labels, batch_size=BATCH, shuffle=True
            ),
            "stream from CSV (parsed)": lambda a: fit(
                models[a], ImageBatches(parsed.images, labels, BATCH, shuffle=True), shuffle=False
            ),
            "stream from cache (memmap)": lambda a: fit(
                models[a], ImageBatches(cached.images, labels, BATCH, shuffle=True), shuffle=False
            ),
            "manual (train_on_batch)": lambda a: manual(models[a]),
            "tutorial generator": lambda a: fit(
                models[False],
                lambda: tutorial_generator(path, BATCH, index, pipeline_block if a else None),
                steps_per_epoch=steps,
            ),
            "stream, augment in pipeline": lambda a: fit(
                models[False],
                (PipelineAugmented if a else ImageBatches)(
                    cached.images, labels, BATCH, shuffle=True
                ),
                shuffle=False,
            ),
        }
        # Warm-up: trace every compiled function once.
        for make in configs.values():
            for augmented in (False, True):
                make(augmented)(BatchClock())
        clocks = {(name, a): BatchClock() for name in configs for a in (False, True)}
        for _ in range(args.rounds):
            for name, make in configs.items():
                for augmented in (False, True):
                    make(augmented)(clocks[name, augmented])

        rate = {key: BATCH / statistics.median(c.intervals) for key, c in clocks.items()}
        print()
        print(
            f"training, images/s (batch {BATCH} / median time per batch over {args.rounds} "
            f"interleaved epochs; same model and data)"
        )
        print(f"{'input path':<30}{'plain':>9}{'augmented':>11}{'plain vs memory':>17}"
              f"{'aug vs memory':>15}")  # fmt: skip
        memory = "memory (fit on arrays)"
        for name in configs:
            print(
                f"{name:<30}{rate[name, False]:>9.1f}{rate[name, True]:>11.1f}"
                f"{rate[name, False] / rate[memory, False]:>16.2f}x"
                f"{rate[name, True] / rate[memory, True]:>14.2f}x"
            )
        stream = "stream from cache (memmap)"
        print(
            f"target: stream >= 0.95x memory with the same augmentation -> "
            f"{rate[stream, True] / rate[memory, True]:.2f}x (augmented), "
            f"{rate[stream, False] / rate[memory, False]:.2f}x (plain)"
        )

        # --- the input pipeline alone --------------------------------------------------------
        import tensorflow as tf
        from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

        big = load_dataset(generate(base / "pipeline.csv", 4096, seed=1))
        big = load_dataset(base / "pipeline.csv")
        big_labels = big.label_indices(classes)
        compiled_block = tf.function(lambda x: pipeline_block(tf.cast(x, "float32"), training=True))

        def pipeline_direct(augment: bool) -> float:
            batches = ImageBatches(big.images, big_labels, BATCH, shuffle=True)
            start = time.perf_counter()
            for i in range(len(batches)):
                x, _ = batches[i]
                if augment:
                    compiled_block(x).numpy()
            return len(big_labels) / (time.perf_counter() - start)

        def pipeline_keras(augment: bool) -> float:
            adapter = PyDatasetAdapter(
                ImageBatches(big.images, big_labels, BATCH, shuffle=True), shuffle=False
            )
            dataset = adapter.get_tf_dataset()
            if augment:
                dataset = dataset.map(lambda x, y: (compiled_block(x), y))
            start = time.perf_counter()
            for _batch in dataset:
                pass
            return len(big_labels) / (time.perf_counter() - start)

        def tutorial_pipeline(augment: bool) -> float:
            generator = tutorial_generator(path, BATCH, index, pipeline_block if augment else None)
            count = 8 if augment else 16
            start = time.perf_counter()
            for _ in range(count):
                next(generator)
            return count * BATCH / (time.perf_counter() - start)

        compiled_block(np.zeros((BATCH, *SHAPE), np.uint8))  # trace
        pipelines = {
            "PyDataset from cache, direct": pipeline_direct,
            "PyDataset via Keras adapter": pipeline_keras,
            "tutorial generator": tutorial_pipeline,
        }
        pipe = {(name, a): max(f(a) for _ in range(2)) for name, f in pipelines.items()
                for a in (False, True)}  # fmt: skip
        tutorial = "tutorial generator"
        print()
        print("input pipeline alone, images/s (no model; best of 2; 4096 cached images)")
        print(f"{'pipeline':<30}{'plain':>10}{'augmented':>11}{'vs tutorial':>13}")
        for name in pipelines:
            print(
                f"{name:<30}{pipe[name, False]:>10.0f}{pipe[name, True]:>11.0f}"
                f"{pipe[name, False] / pipe[tutorial, False]:>12.1f}x"
            )
        direct = "PyDataset from cache, direct"
        print(
            f"targets: plain >= 20000 -> {pipe[direct, False]:.0f}; augmented >= 2000 -> "
            f"{pipe[direct, True]:.0f}; >= 10x tutorial -> "
            f"{pipe[direct, False] / pipe[tutorial, False]:.0f}x plain, "
            f"{pipe[direct, True] / pipe[tutorial, True]:.0f}x augmented"
        )

        # --- memory ---------------------------------------------------------------------------
        small = generate(base / "rss_small.csv", args.rss_rows, seed=2)
        large = generate(base / "rss_large.csv", args.rss_rows * 10, seed=3)
        for csv in (small, large):
            load_dataset(csv)  # build the cache here; the measured process maps it
        print()
        print("peak RSS of stream training, one epoch, fresh process (augmented)")
        peaks = {}
        for csv, rows in ((small, args.rss_rows), (large, args.rss_rows * 10)):
            start_rss, peak_rss = rss_of_stream_training(csv)
            peaks[rows] = peak_rss
            print(
                f"{rows:>6} images ({csv.stat().st_size / 1e6:6.0f} MB CSV, "
                f"{rows * np.prod(SHAPE) / 1e6:5.0f} MB pixels): peak {peak_rss / 1e6:7.0f} MB "
                f"(after imports and model: {start_rss / 1e6:.0f} MB)"
            )
        growth = (peaks[args.rss_rows * 10] - peaks[args.rss_rows]) / 1e6
        print(f"target: growth <= 100 MB for 10x the data -> {growth:+.0f} MB")


_RSS_SCRIPT = """
import os, sys
sys.path.insert(0, {root!r})
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"

def peak_rss():
    # VmHWM: the peak resident size of this address space (ru_maxrss would include the
    # parent's, since Linux keeps it across fork and exec).
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024

import keras
from flowerdash.augment import AugmentSettings, build_augmentation
from flowerdash.data import load_dataset
from flowerdash.data.batches import ImageBatches
from flowerdash.models import build_model
from flowerdash.train.optimizers import build_optimizer
data = load_dataset({path!r})
assert data.from_cache
model = build_model("minivggnet", (64, 64, 3), len(data.classes),
                    augmentation=build_augmentation(AugmentSettings(), 0))
model.compile(build_optimizer("sgd", 0.01, 75), "sparse_categorical_crossentropy",
              metrics=["accuracy"])
start = peak_rss()
model.fit(ImageBatches(data.images, data.label_indices(), 32, shuffle=True), epochs=1,
          verbose=0, shuffle=False)
print(start, peak_rss())
"""


def rss_of_stream_training(path: Path) -> tuple[int, int]:
    """Train one stream epoch on ``path`` in a fresh process; return (rss before fit, peak)."""
    script = _RSS_SCRIPT.format(root=str(Path(__file__).resolve().parents[1]), path=str(path))
    output = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True,
        env=os.environ.copy(),
    ).stdout  # fmt: skip
    start, peak = (int(x) for x in output.split()[-2:])
    return start, peak


if __name__ == "__main__":
    main()
