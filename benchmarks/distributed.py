"""Data-parallel training speed: one device vs 2 logical devices vs 2 processes, same run.

Trains the same job (the ``tutorial`` recipe: MiniVGGNet, its augmentation, global batch 32) with
``flowerdash train`` once per configuration, one after the other in fresh processes (the Keras
backend and the logical devices are fixed when a process starts):

- ``1 device``: TensorFlow, no distribution (the baseline);
- ``2 logical devices``: TensorFlow ``MirroredStrategy`` over the CPU split in two
  (``--distribute devices --cpu-devices 2``);
- ``1 process (jax)``: the JAX backend alone, the baseline of the next line;
- ``2 processes``: ``--distribute processes --num-processes 2`` on this machine (JAX, gloo).

Images/s are those of the last epoch's training steps (from ``progress.jsonl``: the last epoch's
final batch time minus the previous epoch's end, so start-up, compilation and validation are
left out). On a CPU machine the devices share the same cores, so this measures the overhead
of the engines, not a speed-up; on a machine with several GPUs, ``devices`` uses them all.

Usage: ``python benchmarks/distributed.py [--train CSV --test CSV] [--epochs 3]``
(default data: the bundled ``data/flowers_train.csv`` / ``data/flowers_test.csv``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGURATIONS = [
    ("1 device (tensorflow)", "tensorflow", []),
    ("2 logical devices (tensorflow)", "tensorflow",
     ["--distribute", "devices", "--cpu-devices", "2"]),
    ("1 process (jax)", "jax", []),
    ("2 processes (jax)", "jax", ["--distribute", "processes", "--num-processes", "2"]),
]  # fmt: skip


def last_epoch_speed(run_dir: Path, rows: int) -> float:
    """Images/s of the last epoch's training steps, from ``progress.jsonl``."""
    records = [json.loads(line) for line in (run_dir / "progress.jsonl").read_text().splitlines()]
    epochs = [r for r in records if r["kind"] == "epoch"]
    last = epochs[-1]["epoch"]
    start = epochs[-2]["time"]
    end = max(r["time"] for r in records if r["kind"] == "batch" and r["epoch"] == last)
    return rows / (end - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=Path, default=ROOT / "data" / "flowers_train.csv")
    parser.add_argument("--test", type=Path, default=ROOT / "data" / "flowers_test.csv")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from flowerdash.data import load_dataset

    rows = len(load_dataset(args.train))
    print(
        f"{args.train.name}: {rows} images, global batch {args.batch_size}, "
        f"{args.epochs} epochs; load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs"
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="flowerdash-bench-") as folder:
        for name, backend, options in CONFIGURATIONS:
            run_id = f"run{len(results)}"
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable, "-m", "flowerdash", "train", "--train", str(args.train),
                    "--test", str(args.test), "--recipe", "tutorial", "--epochs", str(args.epochs),
                    "--batch-size", str(args.batch_size), "--runs-dir", folder,
                    "--run-id", run_id, "--verbose", "0", *options,
                ],
                cwd=ROOT,
                env={**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"},
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            wall = time.perf_counter() - started
            results.append((name, last_epoch_speed(Path(folder) / run_id, rows), wall))
    baseline = results[0][1]
    print(f"{'configuration':34} {'images/s':>9} {'vs 1 device':>12} {'whole run (s)':>14}")
    for name, speed, wall in results:
        print(f"{name:34} {speed:9.1f} {speed / baseline:11.2f}x {wall:14.1f}")


if __name__ == "__main__":
    main()
