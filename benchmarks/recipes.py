"""Recipes side by side: accuracy, macro F1, training time and images/s, same run, same machine.

Trains each recipe (``tutorial``, ``scratch`` and ``transfer`` by default; ``auto`` resolves
to the recipe it picks, named in the table; a line per dataset says which ``auto`` picks)
through the library's own path (``resolve_recipe`` + ``train_new``, what ``flowerdash train
--recipe NAME`` does) on:

- ``flowers``: the bundled ``data/flowers_train.csv`` / ``data/flowers_test.csv`` (375 / 125);
- ``dev-flowers``: ``../shared/data/flower_photos_64_dev/`` converted with ``flowerdash
  convert`` into a cache folder (never the repository): its 90 % training split trains, the
  bundled 500 (train + test CSVs together) test; the 10 % hold-out is for tuning only and is
  never reported;
- ``dev-tune``: for tuning a recipe's values: the first 375 rows of that 90 % split (the
  bundled training size; the split is shuffled) scored on the dev set's own 10 % hold-out (250);
- ``mnist``: ``prasertcbs_basic_dataset/mnist_28x28_2000rows.csv`` split 1,500 / 500 (file
  order), and ``fashion``: the 999 Fashion-MNIST rows split 750 / 249, from
  ``../shared/data/real_csv_formats/``.

``--epochs N`` (or ``--epochs-for DATA=N``) sets every recipe's epochs on a dataset (the same
budget for all); without it each recipe uses its own. ``--mix none,mixup,cutmix`` trains each
recipe once per mixing method (the ``mix`` setting; ``--mix-alpha`` its alpha, else the
default). ``--input-sizes 160,224`` trains each recipe of the pretrained model once per input
resolution (the ``px`` column; fine-tuned accuracy against time, where
``benchmarks/transfer_resolution.py`` has the frozen backbone's). ``--quick`` is a budget for
a shared 2-core machine: mnist 2, fashion 5, flowers 20, dev-flowers 4 epochs. Time is the wall
time of ``train_new`` (building, training, evaluating); images/s = epochs x training images /
that time.
The pretrained weights are converted into the cache folder before the first timing.

Usage: ``nice -n 10 python benchmarks/recipes.py [--quick] [--data flowers,mnist]
[--recipes tutorial,scratch,transfer,auto] [--epochs N] [--epochs-for flowers=30]
[--mix none,mixup,cutmix] [--mix-alpha A] [--input-sizes 160,224] [--seed N]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from flowerdash import runs
from flowerdash.data import load_dataset
from flowerdash.pretrained.efficientnet_lite import PretrainedWeightsError, converted_weights
from flowerdash.recipes import AUTO, DataProfile, resolve_recipe

ROOT = Path(__file__).resolve().parents[1]
#: The shared data beside the repository (``/work/shared/data`` for a worktree elsewhere).
SHARED = next(
    (p for p in (ROOT.parent / "shared/data", Path("/work/shared/data")) if p.is_dir()),
    ROOT.parent / "shared/data",
)
QUICK = {"mnist": 2, "fashion": 5, "flowers": 20, "dev-flowers": 4}
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "flowerdash-bench"


def _split(
    source: Path, folder: Path, name: str, train_rows: int, header: bool
) -> tuple[Path, Path]:
    lines = source.read_text().splitlines(keepends=True)
    head, rows = (lines[:1], lines[1:]) if header else ([], lines)
    train, test = folder / f"{name}_train.csv", folder / f"{name}_test.csv"
    train.write_text("".join(head + rows[:train_rows]))
    last = rows[-1] if rows[-1].endswith("\n") else rows[-1] + "\n"
    test.write_text("".join(head + rows[train_rows:-1] + [last]))
    return train, test


def datasets(folder: Path, names: list[str]) -> dict[str, tuple[Path, Path]]:
    """The (train, test) CSV pairs, built in ``folder`` (dev photos converted once, cached)."""
    found: dict[str, tuple[Path, Path]] = {}
    csvs = SHARED / "real_csv_formats"
    if "flowers" in names:
        found["flowers"] = (ROOT / "data/flowers_train.csv", ROOT / "data/flowers_test.csv")
    if "dev-flowers" in names or "dev-tune" in names:
        CACHE.mkdir(parents=True, exist_ok=True)
        prefix = CACHE / "dev64"
        if not Path(f"{prefix}_train.csv").exists():
            subprocess.run(
                [sys.executable, "-m", "flowerdash", "convert",
                 str(SHARED / "flower_photos_64_dev/images"), str(prefix), "--size", "64",
                 "--test-fraction", "0.1", "--seed", "7"],
                check=True,
            )  # fmt: skip
        bundled = folder / "bundled500.csv"
        bundled.write_text(
            (ROOT / "data/flowers_train.csv").read_text()
            + (ROOT / "data/flowers_test.csv").read_text()
        )
        found["dev-flowers"] = (Path(f"{prefix}_train.csv"), bundled)
        subset = folder / "dev375_train.csv"
        with Path(f"{prefix}_train.csv").open() as source:
            subset.write_text("".join(line for _, line in zip(range(375), source, strict=False)))
        found["dev-tune"] = (subset, Path(f"{prefix}_test.csv"))
    if "mnist" in names:
        found["mnist"] = _split(
            csvs / "prasertcbs_basic_dataset/mnist_28x28_2000rows.csv", folder, "mnist", 1500,
            header=True,
        )  # fmt: skip
    if "fashion" in names:
        found["fashion"] = _split(
            csvs / "fashion_mnist_kaggle_subset_lf/fashion-mnist_train.csv", folder, "fashion",
            750, header=True,
        )  # fmt: skip
    return {name: found[name] for name in names if name in found}


def run_one(
    recipe: str,
    train: Path,
    test: Path,
    epochs: int | None,
    runs_dir: Path,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train ``recipe`` on the pair (``extra``: training settings to override, the mixing or
    the input size); return the figures of its row."""
    from flowerdash.train import TrainJob, train_new

    dataset = load_dataset(train)
    overrides: dict[str, Any] = {"mode": "memory", **(extra or {})}
    if epochs:
        overrides["epochs"] = epochs
    resolved = resolve_recipe(recipe, DataProfile.of(dataset), train=overrides)
    job = TrainJob(train, test, resolved.settings, resolved.augment, recipe=resolved.to_dict())
    started = time.perf_counter()
    run_dir = train_new(job, runs_dir, verbose=0)
    seconds = time.perf_counter() - started
    report = runs.read_report(run_dir)
    tta = report.extra.get("flip_tta") or {}
    images = resolved.settings.epochs * len(dataset.images)
    return {
        "recipe": recipe if recipe == resolved.name else f"{recipe}->{resolved.name}",
        "model": resolved.settings.model,
        "px": resolved.settings.input_size if _pretrained(resolved.settings.model) else None,
        "mix": resolved.settings.mix,
        "epochs": resolved.settings.epochs,
        "accuracy": report.accuracy,
        "macro_f1": report.scores["macro avg"]["f1-score"],
        "tta": tta.get("accuracy"),
        "seconds": seconds,
        "images_per_s": images / seconds,
    }


def _pretrained(model: str) -> bool:
    from flowerdash.models import setting_applies

    return setting_applies("input_size", model)


def _variants(
    recipe: str, profile: DataProfile, mixes: list[dict[str, Any]], sizes: list[int]
) -> list[dict[str, Any]]:
    """The overrides ``recipe`` trains with: one per mixing method, times one per input size
    where the recipe trains the pretrained model."""
    if not sizes or not _pretrained(resolve_recipe(recipe, profile).settings.model):
        return mixes
    return [{**mix, "input_size": size} for mix in mixes for size in sizes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="mnist,fashion,flowers,dev-flowers")
    parser.add_argument("--recipes", default="tutorial,scratch,transfer")
    parser.add_argument("--epochs", type=int, default=None, help="every recipe, every dataset")
    parser.add_argument("--epochs-for", action="append", default=[], metavar="DATA=N")
    parser.add_argument("--quick", action="store_true", help=f"epochs per dataset: {QUICK}")
    parser.add_argument("--mix", default=None, help="mixing methods to compare, e.g. none,mixup")
    parser.add_argument("--mix-alpha", type=float, default=None)
    parser.add_argument("--seed", type=int, default=None, help="every run's seed (else 42)")
    parser.add_argument(
        "--input-sizes", default=None, help="pretrained model's input sizes, e.g. 160,224"
    )
    args = parser.parse_args()
    names = args.data.split(",")
    alpha = {} if args.mix_alpha is None else {"mix_alpha": args.mix_alpha}
    seed = {} if args.seed is None else {"seed": args.seed}
    mixes = [{"mix": m, **alpha, **seed} for m in args.mix.split(",")] if args.mix else [seed]
    sizes = [int(size) for size in args.input_sizes.split(",")] if args.input_sizes else []
    budget: dict[str, int | None] = {name: args.epochs for name in names}
    if args.quick:
        budget |= {name: QUICK[name] for name in names if name in QUICK}
    for item in args.epochs_for:
        name, _, value = item.partition("=")
        budget[name] = int(value)
    print(f"load average at start: {os.getloadavg()}", flush=True)
    header = (
        f"| {'data':<12}| {'recipe':<17}| {'model':<19}|  px | {'mix':<7}| epochs | accuracy | "
        "macro F1 | flip TTA | time (s) | images/s |"
    )
    notes: list[str] = []
    rows = [header, "|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|"]
    with tempfile.TemporaryDirectory(prefix="flowerdash-recipes-") as tmp:
        folder = Path(tmp)
        os.environ.setdefault("FLOWERDASH_CACHE_DIR", str(folder / "cache"))
        if any(r != "tutorial" and r != "scratch" for r in args.recipes.split(",")):
            with contextlib.suppress(PretrainedWeightsError):
                converted_weights()  # once, outside the timings
        for name, (train, test) in datasets(folder, names).items():
            profile = DataProfile.of(load_dataset(train))
            chosen = resolve_recipe(AUTO, profile).name
            print(f"{name}: auto picks {chosen}", flush=True)
            notes.append(f"{name}: auto picks {chosen}")
            for recipe in args.recipes.split(","):
                for overrides in _variants(recipe, profile, mixes, sizes):
                    result = run_one(
                        recipe, train, test, budget.get(name), folder / "runs", overrides
                    )
                    rows.append(_row(name, result))
                    print(rows[-1], f"(load {os.getloadavg()[0]:.1f})", flush=True)
    print(f"load average at end: {os.getloadavg()}")
    print("\n".join(rows + notes))


def _row(name: str, result: dict[str, Any]) -> str:
    """The table row of one trained recipe."""
    tta = f"{result['tta']:.3f}" if result["tta"] is not None else "-"
    px = str(result["px"]) if result["px"] else "-"
    return (
        f"| {name:<12}| {result['recipe']:<17}| {result['model']:<19}| {px:>3} | "
        f"{result['mix']:<7}| {result['epochs']:>6} | {result['accuracy']:>8.3f} | "
        f"{result['macro_f1']:>8.3f} | {tta:>8} | {result['seconds']:>8.0f} | "
        f"{result['images_per_s']:>8.1f} |"
    )


if __name__ == "__main__":
    main()
