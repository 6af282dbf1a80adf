"""Input resolution of the pretrained EfficientNet-Lite0: accuracy against time on this machine.

The 64x64 photos are upsampled inside the model to the backbone's resolution; a larger one
sees more detail learned on ImageNet and costs more. For each resolution (64, 128, 160, 224)
this measures, in one process on the same data:

- the frozen backbone's accuracy: its pooled features of the training photos feed a logistic
  regression (scikit-learn), scored on the dev set's own hold-out (what the head-only phase
  can reach; fine-tuning adds to it). That column, with the fine-tuned accuracy of
  ``benchmarks/recipes.py --data dev-tune --recipes transfer --input-sizes 160,224``, chooses
  the resolution; the bundled photos' score beside it is for reporting only, never for
  choosing;
- images/s of the backbone's forward pass (prediction), of a training step of the head-only
  phase and of one fine-tuning the top blocks (batch 32, median of ``--rounds``), and the
  epoch time these give for the training set.

Data: ``../shared/data/flower_photos_64_dev/`` converted with ``flowerdash convert`` into a
temporary folder (never the repository), 90 % / 10 % stratified: ``--train-images`` of the
90 % (every k-th, so all classes) train, the 10 % hold-out (250 photos) scores; the bundled 500
photos (``data/flowers_train.csv`` + ``_test.csv``) are scored too, for the report.

Usage: ``nice -n 10 python benchmarks/transfer_resolution.py [--train-images 1000]
[--resolutions 64 128 160 224]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from flowerdash.data import load_dataset
from flowerdash.pretrained.transfer import (
    RESOLUTIONS,
    backbone_cost,
    set_trainable_blocks,
    transfer_outputs,
)

ROOT = Path(__file__).resolve().parents[1]
DEV_PHOTOS = next(
    (
        p
        for p in (
            ROOT.parent / "shared/data/flower_photos_64_dev",
            Path("/work/shared/data/flower_photos_64_dev"),
        )
        if p.is_dir()
    ),
    ROOT.parent / "shared/data/flower_photos_64_dev",
)
#: Blocks fine-tuned in the timing of the second phase (the transfer recipe's choice).
FINE_TUNED_BLOCKS = 5


Arrays = tuple[np.ndarray, np.ndarray]


def _dev_sets(folder: Path, count: int) -> tuple[Arrays, Arrays]:
    """``count`` training photos of the dev set's 90 % split, and its 10 % hold-out."""
    prefix = folder / "dev"
    subprocess.run(
        [sys.executable, "-m", "flowerdash", "convert", str(DEV_PHOTOS / "images"), str(prefix),
         "--size", "64", "--test-fraction", "0.1", "--seed", "42"],
        check=True, capture_output=True,
    )  # fmt: skip
    dev = load_dataset(f"{prefix}_train.csv", use_cache=False)
    hold_out = load_dataset(f"{prefix}_test.csv", use_cache=False)
    step = max(1, len(dev.images) // count)
    chosen = np.arange(0, len(dev.images), step)[:count]
    return (np.asarray(dev.images[chosen]), np.asarray(dev.labels[chosen])), (
        np.asarray(hold_out.images),
        np.asarray(hold_out.labels),
    )


def _bundled_test_set() -> tuple[np.ndarray, np.ndarray]:
    parts = [
        load_dataset(ROOT / f"data/flowers_{s}.csv", use_cache=False) for s in ("train", "test")
    ]
    return np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts])


def _accuracy(features, scaler, classifier, classes, images, labels) -> float:
    """The logistic regression's accuracy on ``images`` from their frozen features."""
    found = features.predict(images, batch_size=64, verbose=0)
    predicted = np.array(classes)[classifier.predict(scaler.transform(found))]
    return float(np.mean(predicted == labels))


def _train_step_rate(model, images, labels, blocks: int, rounds: int) -> float:
    import keras

    set_trainable_blocks(model, blocks)
    model.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy")
    batch = 32
    model.train_on_batch(images[:batch], labels[:batch])  # compile the step
    times = []
    for index in range(rounds):
        chunk = slice((index % 4) * batch, (index % 4 + 1) * batch)
        start = time.perf_counter()
        model.train_on_batch(images[chunk], labels[chunk])
        times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-images", type=int, default=1000)
    parser.add_argument("--resolutions", type=int, nargs="+", default=list(RESOLUTIONS))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    import keras
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    with tempfile.TemporaryDirectory(prefix="flowerdash-bench-") as temp:
        (train_x, train_y), (hold_x, hold_y) = _dev_sets(Path(temp), args.train_images)
    test_x, test_y = _bundled_test_set()
    classes = sorted(set(train_y))
    codes = np.array([classes.index(label) for label in train_y], dtype="int32")
    print(
        f"frozen EfficientNet-Lite0 features -> logistic regression; {len(train_x)} dev photos "
        f"train; scored on the {len(hold_x)}-photo dev hold-out (chooses) and the "
        f"{len(test_x)} bundled photos (reported); {len(classes)} classes; "
        f"load average at start {os.getloadavg()[0]:.1f} (2 shared cores)"
    )
    header = (
        f"{'px':>4} {'MMACs':>6} {'hold-out':>8} {'bundled':>7} {'predict img/s':>13} "
        f"{'head img/s':>10} {'tune img/s':>10} {'epoch s (2,250, tune)':>21} {'load':>5}"
    )
    print(header, flush=True)
    for resolution in args.resolutions:
        inputs = keras.Input((64, 64, 3), name="pixels")
        x = keras.layers.Rescaling(1.0 / 255)(inputs)
        model = keras.Model(inputs, transfer_outputs(x, len(classes), resolution))
        features = keras.Model(inputs, model.get_layer("head_dropout").input)
        features.predict(train_x[:32], verbose=0)
        start = time.perf_counter()
        train_f = features.predict(train_x, batch_size=64, verbose=0)
        predict_rate = len(train_x) / (time.perf_counter() - start)
        scaler = StandardScaler().fit(train_f)
        classifier = LogisticRegression(C=0.5, max_iter=2000).fit(scaler.transform(train_f), codes)
        scores = [
            _accuracy(features, scaler, classifier, classes, images, labels)
            for images, labels in ((hold_x, hold_y), (test_x, test_y))
        ]
        head_rate = _train_step_rate(model, train_x, codes, 0, args.rounds)
        tune_rate = _train_step_rate(model, train_x, codes, FINE_TUNED_BLOCKS, args.rounds)
        print(
            f"{resolution:>4} {backbone_cost(resolution).macs / 1e6:>6.0f} "
            f"{scores[0]:>8.3f} {scores[1]:>7.3f} "
            f"{predict_rate:>13.1f} {head_rate:>10.1f} {tune_rate:>10.1f} "
            f"{2250 / tune_rate:>21.0f} {os.getloadavg()[0]:>5.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
