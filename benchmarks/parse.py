"""Parse speed: flowerdash vs the tutorial's loops vs pandas, on one generated 64x64x3 CSV.

Generates a CSV of at least 150 MB (random RGB images, flower-name labels) in a temporary
folder and measures, in this one process on that same file, the throughput of full validation
(every value read, checked to be an integer 0-255, every line's count checked):

- flowerdash ``load_dataset`` (vectorized parser, cache off);
- the tutorial's loop: ``line.strip().split(",")`` then ``int()`` per value into ``np.array``;
- ``np.fromstring(..., sep=",")`` per line;
- ``pandas.read_csv``.

The slow baselines run on a prefix of the file (printed) so the run stays short; their MB/s
and rows/s are rates and compare directly. Also printed: peak memory of a flowerdash parse
(measured as the maximum resident size of a fresh subprocess) against the decoded array, and
the time to open the file from the binary cache against the time to parse it.

Usage: ``python benchmarks/parse.py [--mb 150] [--prefix-rows 400]``
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

from flowerdash.data import load_dataset
from flowerdash.data.convert import format_line

SHAPE = (64, 64, 3)
CLASSES = ["daisy", "dandelion", "roses", "sunflowers", "tulips"]


def generate(path: Path, megabytes: float, seed: int = 0) -> int:
    """Write random 64x64x3 rows until the file holds ``megabytes``; return the row count."""
    rng = np.random.default_rng(seed)
    target = megabytes * 1e6
    written = rows = 0
    with open(path, "wb") as handle:
        while written < target:
            images = rng.integers(0, 256, size=(64, *SHAPE), dtype=np.uint8)
            labels = rng.choice(CLASSES, size=64)
            for label, image in zip(labels, images, strict=True):
                line = format_line(str(label), image)
                handle.write(line)
                written += len(line)
                rows += 1
    return rows


def prefix_file(path: Path, rows: int, out: Path) -> tuple[int, int]:
    """Copy the first ``rows`` lines of ``path`` to ``out``; return ``(rows, bytes)``."""
    with open(path, "rb") as source, open(out, "wb") as target:
        for count, line in enumerate(source, 1):
            target.write(line)
            if count == rows:
                break
    return rows, out.stat().st_size


def tutorial_loop(path: Path) -> int:
    """The tutorial's generator body: split, int() per value, np.array, reshape; validated."""
    rows = 0
    with open(path) as handle:
        for line in handle:
            values = line.strip().split(",")
            label = values[0]
            image = np.array([int(x) for x in values[1:]], dtype="int64")
            if image.size != 12288 or image.min() < 0 or image.max() > 255 or not label:
                raise ValueError("bad row")
            image = image.astype("uint8").reshape(SHAPE)
            rows += 1
    return rows


def fromstring_loop(path: Path) -> int:
    """Per line: split off the label, ``np.fromstring(rest, sep=",")``; validated."""
    rows = 0
    with open(path, "rb") as handle:
        for line in handle:
            label, _, rest = line.partition(b",")
            values = np.fromstring(rest, dtype=np.int64, sep=",")
            if values.size != 12288 or values.min() < 0 or values.max() > 255 or not label:
                raise ValueError("bad row")
            values.astype(np.uint8).reshape(SHAPE)
            rows += 1
    return rows


def pandas_read(path: Path) -> int:
    """``pandas.read_csv`` with no header; values checked to be in 0-255."""
    import pandas as pd

    frame = pd.read_csv(path, header=None)
    pixels = frame.iloc[:, 1:].to_numpy()
    if pixels.shape[1] != 12288 or pixels.min() < 0 or pixels.max() > 255:
        raise ValueError("bad file")
    pixels.astype(np.uint8).reshape(-1, *SHAPE)
    return len(frame)


def timed(function, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


_PEAK_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from flowerdash.data import load_dataset

def high_water_mark():  # peak resident memory of this process (Linux; reset by exec)
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024

before = high_water_mark()
dataset = load_dataset({path!r}, use_cache={cache}, cache_dir={cache_dir!r})
print(before, high_water_mark(), dataset.images.nbytes)
"""


def peak_memory(path: Path, *, cache: bool, cache_dir: str) -> tuple[int, int, int]:
    """Run one load in a fresh process; return (peak before it, peak after, array bytes).

    Uses VmHWM from /proc: ``ru_maxrss`` would carry over this (parent) process's peak.
    """
    root = str(Path(__file__).resolve().parents[1])
    script = _PEAK_SCRIPT.format(root=root, path=str(path), cache=cache, cache_dir=cache_dir)
    output = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout
    before, peak, nbytes = (int(x) for x in output.split())
    return before, peak, nbytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=150.0, help="CSV size to generate (150)")
    parser.add_argument(
        "--prefix-rows", type=int, default=400, help="rows the slow baselines read (400)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds, best kept (3)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="flowerdash-bench-") as folder:
        path = Path(folder) / "bench_64x64x3.csv"
        cache_dir = str(Path(folder) / "cache")
        rows = generate(path, args.mb)
        size = path.stat().st_size
        prefix = Path(folder) / "prefix.csv"
        prefix_rows, prefix_size = prefix_file(path, args.prefix_rows, prefix)
        print(f"file: {size / 1e6:.1f} MB, {rows} rows of 64x64x3 (random pixels, 5 labels)")
        print(f"slow baselines read the first {prefix_rows} rows ({prefix_size / 1e6:.1f} MB)")
        print(f"CPU cores: {os.cpu_count()}, numpy {np.__version__}")
        print()

        print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print()

        load_dataset(prefix, use_cache=False)  # warm-up (imports, page cache)
        contenders = [
            ("flowerdash load_dataset", lambda: load_dataset(path, use_cache=False), rows, size),
            (
                "flowerdash, 1 thread",
                lambda: load_dataset(path, use_cache=False, threads=1),
                rows,
                size,
            ),
            (
                "flowerdash on the prefix",
                lambda: load_dataset(prefix, use_cache=False),
                prefix_rows,
                prefix_size,
            ),
            ("tutorial int() per value", lambda: tutorial_loop(prefix), prefix_rows, prefix_size),
            ("np.fromstring per line", lambda: fromstring_loop(prefix), prefix_rows, prefix_size),
            ("pandas.read_csv", lambda: pandas_read(prefix), prefix_rows, prefix_size),
        ]
        # interleaved rounds, best time of each: a fair comparison on a shared machine
        best = {name: float("inf") for name, *_ in contenders}
        for _ in range(args.rounds):
            for name, function, _count, _nbytes in contenders:
                best[name] = min(best[name], timed(function)[0])
        results = [
            (name, best[name], count, nbytes, "full file" if nbytes == size else "prefix")
            for name, _function, count, nbytes in contenders
        ]
        parse_seconds = best["flowerdash load_dataset"]

        ours = size / parse_seconds
        print(f"{'parser':<26}{'MB/s':>9}{'rows/s':>10}{'vs tutorial':>13}{'flowerdash is':>15}")
        tutorial_rate = prefix_size / best["tutorial int() per value"]
        for name, seconds, count, nbytes, scope in results:
            rate = nbytes / seconds
            print(
                f"{name:<26}{rate / 1e6:>9.1f}{count / seconds:>10.0f}"
                f"{rate / tutorial_rate:>12.1f}x{ours / rate:>14.1f}x  ({scope})"
            )
        print()
        fromstring_rate = prefix_size / best["np.fromstring per line"]
        print(
            f"targets: >= 20x tutorial -> {ours / tutorial_rate:.1f}x; "
            f">= 2.5x np.fromstring -> {ours / fromstring_rate:.1f}x"
        )
        print()

        write_seconds, _ = timed(lambda: load_dataset(path, cache_dir=cache_dir))
        opens = []
        for _ in range(20):
            seconds, dataset = timed(lambda: load_dataset(path, cache_dir=cache_dir))
            assert dataset.from_cache
            opens.append(seconds)
        open_seconds = statistics.median(opens)
        print(f"first load with cache (parse + write): {write_seconds * 1e3:9.1f} ms")
        print(f"parse without cache:                   {parse_seconds * 1e3:9.1f} ms")
        print(f"open from cache (median of 20):        {open_seconds * 1e3:9.3f} ms")
        print(f"cached open is {parse_seconds / open_seconds:.0f}x faster than parsing (>= 100x)")
        print()

        for label, cache in [("parse into memory", False), ("parse into the cache", True)]:
            before, peak, nbytes = peak_memory(path, cache=cache, cache_dir=cache_dir + "2")
            extra = peak - before
            print(
                f"peak memory, {label:<21} +{extra / 1e6:6.1f} MB over start-up; decoded array "
                f"{nbytes / 1e6:.1f} MB; the rest ({(extra - nbytes) / 1e6:+.1f} MB) is the "
                "bounded chunk buffers"
            )
        print("(parsing into the cache streams rows to disk: only the buffers stay in memory)")


if __name__ == "__main__":
    main()
