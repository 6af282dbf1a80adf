"""Does watching a training from the dashboard slow it down? Training images/s side by side.

Same data, same settings, runs alternated: the training process alone ("CLI alone"), then the
same training while a second process polls its run directory once a second exactly as the
Train page's live fragment does (status, only the new progress lines, the live figure built and
serialised to JSON, the epoch table). Images/s is measured from the trainer's own progress
records, between the end of epoch 1 (after start-up and compilation) and the end of the last
epoch. A last watched run, not counted, renders the Runs and Results pages once each mid-training
(Streamlit AppTest) to show the dashboard stays responsive.

    .venv/bin/python benchmarks/dashboard_overhead.py [--epochs 4] [--pairs 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from flowerdash import launcher, runs  # noqa: E402
from flowerdash.train.options import job_from_arguments  # noqa: E402

POLL_SECONDS = 1.0


def poll_like_the_train_page(run_dir: str, stop: Any, out: Any) -> None:
    """Poll ``run_dir`` once a second as the live fragment does; report polls and their cost."""
    import pandas as pd

    from flowerdash.charts.training import live_training_figure
    from flowerdash.live_progress import LiveProgress, summarize

    progress = LiveProgress(Path(run_dir))
    costs = []
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    while not stop.is_set():
        started = time.perf_counter()
        try:
            status = runs.read_status(run_dir)
        except runs.RunError:
            status = runs.RunStatus(state="queued")
        progress.update()
        summarize(progress, status.epochs or 0)
        live_training_figure(progress.batches, progress.epochs).to_json()
        pd.DataFrame(progress.epochs)
        costs.append(time.perf_counter() - started)
        stop.wait(POLL_SECONDS)
    cpu_share = (time.process_time() - cpu_start) / (time.perf_counter() - wall_start)
    out.put((len(costs), statistics.median(costs) if costs else 0.0, cpu_share))


def images_per_second(run_dir: Path) -> float:
    """Training images/s between the end of epoch 1 and the end of the last epoch."""
    train_rows = int(runs.read_config(run_dir).train.rows or 0)
    records, _ = runs.read_progress(run_dir)
    ends = [r["time"] for r in records if r.get("kind") == "epoch"]
    if len(ends) < 2:
        raise SystemExit(f"{run_dir}: fewer than 2 epochs recorded; use --epochs 3 or more")
    return (len(ends) - 1) * train_rows / (ends[-1] - ends[0])


def render_seconds(page: str) -> float:
    """Seconds to render a dashboard page once (AppTest, in this process)."""
    from streamlit.testing.v1 import AppTest

    started = time.perf_counter()
    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120)
    app.switch_page(page)
    app.run()
    return time.perf_counter() - started


def train(
    arguments: list[str], runs_dir: Path, *, watched: bool, render_pages: bool = False
) -> tuple[Path, dict]:
    """Run one training to the end, watched or not; return its folder and side figures.

    With ``render_pages``, the Runs and Results pages are rendered once each mid-training.
    """
    run_dir = launcher.start_training(job_from_arguments(arguments), runs_dir)
    extra: dict = {}
    stop = multiprocessing.get_context("spawn").Event()
    out = multiprocessing.get_context("spawn").Queue()
    poller = None
    if watched:
        poller = multiprocessing.get_context("spawn").Process(
            target=poll_like_the_train_page, args=(str(run_dir), stop, out)
        )
        poller.start()
    rendered = False
    while launcher.is_active(run_dir):
        if render_pages and not rendered and (run_dir / runs.HISTORY).exists():
            extra["Runs page s"] = render_seconds("pages/6_Runs.py")
            extra["Results page s"] = render_seconds("pages/4_Results.py")
            rendered = True
        time.sleep(0.2)
    if poller is not None:
        stop.set()
        polls, median_poll, cpu_share = out.get(timeout=30)
        extra["polls"] = polls
        extra["median poll ms"] = median_poll * 1000
        extra["poller CPU % of a core"] = cpu_share * 100
        poller.join()
    state = runs.read_status(run_dir).state
    if state != "finished":
        raise SystemExit(f"{run_dir}: ended {state}; see its train.log")
    return run_dir, extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default=str(REPO_ROOT / "data" / "flowers_train.csv"))
    parser.add_argument("--test", default=str(REPO_ROOT / "data" / "flowers_test.csv"))
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--pairs", type=int, default=2, help="alone/watched pairs to run")
    parser.add_argument("--mode", default="memory")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="flowerdash-bench-"))
    os.environ["FLOWERDASH_RUNS_DIR"] = str(work / "runs")
    os.environ.setdefault("FLOWERDASH_CACHE_DIR", str(work / "cache"))
    arguments = ["--train", args.train, "--test", args.test, "--epochs", str(args.epochs)]
    arguments += ["--mode", args.mode, "--seed", "1"]
    print(f"data: {args.train}, {args.epochs} epochs, mode {args.mode}")
    print(f"{'run':<10} {'images/s':>9}  notes")
    figures: dict[str, list[float]] = {"alone": [], "watched": []}
    for pair in range(args.pairs):
        # Alternate which comes first, so a drift in the machine's load favours neither.
        for label in ("alone", "watched") if pair % 2 == 0 else ("watched", "alone"):
            run_dir, extra = train(arguments, work / "runs", watched=label == "watched")
            speed = images_per_second(run_dir)
            figures[label].append(speed)
            notes = ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                              for k, v in extra.items())  # fmt: skip
            print(f"{label:<10} {speed:>9.1f}  {notes}")
    _, extra = train(arguments, work / "runs", watched=True, render_pages=True)
    print(
        "while a watched run trains: Runs page rendered in "
        f"{extra.get('Runs page s', float('nan')):.2f} s, Results page (the previous run) in "
        f"{extra.get('Results page s', float('nan')):.2f} s (AppTest, script run to the end)"
    )
    alone, watched = statistics.median(figures["alone"]), statistics.median(figures["watched"])
    print(
        f"median: CLI alone {alone:.1f} images/s, watched by the dashboard's poller "
        f"{watched:.1f} images/s ({(watched - alone) / alone:+.1%})"
    )


if __name__ == "__main__":
    main()
