"""Render time of the dashboard's pages (Home, Data, Augmentation), cold vs warm, side by side.

Each page is run through Streamlit's AppTest (the script run a browser visit triggers, without
the browser's own drawing) on the bundled dataset (``make data``). Each page is measured in
its own Python process with an empty parsed-data cache. "cold" is the page's first run there: the
CSVs are parsed and, on the Augmentation page, Keras is imported. "warm" is the median of the
next runs in the same process, each a fresh session (new AppTest) on the now-warm server caches:
what a visitor sees once the server has served the page once. Target: warm under 2 s.
The baseline row is AppTest's own cost for a one-line script (part of every figure); the
"slider moved" row is a rerun after moving the rotation slider (a new preview and batch).

    .venv/bin/python benchmarks/pages.py [--repeat 5] [--browser]

``--browser`` also times real visits: a live ``streamlit run app.py`` server and Debian's
Chromium, from navigation until the script has finished and every image is decoded (cold: the
server's first visit of the page; warm: the median of later visits, each a new tab and so a new
session, in one browser profile whose HTTP cache keeps the JavaScript, as a returning user's).
The baseline row is a one-line Streamlit page visited the same way: Streamlit's frontend start-up
and connection, which every page pays. The machine's load average is printed with it: on a
shared machine it dominates these figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

REPO_ROOT = Path(__file__).resolve().parent.parent
EMPTY = "(empty script)"
PAGES = (
    ("AppTest baseline", EMPTY),
    ("Home", None),
    ("Data", "pages/1_Data.py"),
    ("Augmentation", "pages/2_Augmentation.py"),
)
ROTATIONS = (30.0, 45.0, 60.0, 75.0, 90.0)
TARGET_S = 2.0


def new_session(page: str | None) -> AppTest:
    """A fresh session on ``page`` (None: the home page; EMPTY: a one-line script)."""
    from streamlit.testing.v1 import AppTest

    if page == EMPTY:
        return AppTest.from_string("import streamlit as st\nst.write('hello')")
    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=300)
    if page is not None:
        app.switch_page(page)
    return app


def timed_run(app: AppTest) -> float:
    """Seconds ``app.run()`` takes; exits when the page shows an error."""
    started = time.perf_counter()
    app.run(timeout=300)
    seconds = time.perf_counter() - started
    if app.exception or app.error:
        problems = [item.value for item in app.exception] + [item.value for item in app.error]
        raise SystemExit(f"page failed: {problems}")
    return seconds


def run_page(page: str | None) -> float:
    """Return the seconds one fresh session takes to run ``page``."""
    return timed_run(new_session(page))


def measure(page: str | None, repeat: int) -> dict[str, float]:
    """Cold and warm seconds of ``page`` in this process, with a fresh empty cache."""
    sys.path.insert(0, str(REPO_ROOT))
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["FLOWERDASH_CACHE_DIR"] = str(Path(scratch) / "cache")
        os.environ["FLOWERDASH_RUNS_DIR"] = str(Path(scratch) / "runs")
        cold = run_page(page)
        warm = [run_page(page) for _ in range(repeat)]
        figures = {"cold": cold, "warm": statistics.median(warm), "worst": max(warm)}
        if page == "pages/2_Augmentation.py":
            # Moving a slider: the preview and the batch are computed anew (cache misses).
            app = new_session(page)
            timed_run(app)
            moves = []
            for rotation in ROTATIONS:
                app.slider(key="augment.rotation").set_value(rotation)
                moves.append(timed_run(app))
            figures["slider"] = statistics.median(moves)
    return figures


BROWSER_PATHS = (("Home", "/"), ("Data", "/Data"), ("Augmentation", "/Augmentation"))
IMAGES_DECODED = (
    "() => [...document.querySelectorAll('[data-testid=stImage] img')]"
    ".every(i => i.complete && i.naturalWidth > 0)"
)


def browser_visits(repeat: int) -> list[tuple[str, float, float, float]]:
    """(page, cold s, warm median s, warm max s) of real visits through Chromium."""
    sys.path.insert(0, str(REPO_ROOT))
    from tests.browser.conftest import launched_chromium, running_app, wait_for_script_run

    def visit(context: object, url: str) -> float:
        page = context.new_page()  # type: ignore[attr-defined]
        started = time.perf_counter()
        page.goto(url)
        wait_for_script_run(page)
        page.wait_for_function(IMAGES_DECODED, timeout=120_000)
        seconds = time.perf_counter() - started
        page.close()
        return seconds

    rows = []
    with tempfile.TemporaryDirectory() as scratch, launched_chromium() as browser:
        baseline = Path(scratch) / "baseline.py"
        baseline.write_text("import streamlit as st\nst.write('hello')\n")
        # One browser profile, as a returning user has: its HTTP cache keeps Streamlit's and
        # plotly's JavaScript; each visit is a new tab, so a new session on the server.
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        with running_app(Path(scratch), str(baseline)) as base:
            cold = visit(context, base + "/")
            warm = [visit(context, base + "/") for _ in range(repeat)]
            rows.append(("Streamlit baseline", cold, statistics.median(warm), max(warm)))
        with running_app(Path(scratch)) as base:
            for name, path in BROWSER_PATHS:
                cold = visit(context, base + path)
                warm = [visit(context, base + path) for _ in range(repeat)]
                rows.append((name, cold, statistics.median(warm), max(warm)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="warm runs per page (default 5)")
    parser.add_argument("--browser", action="store_true", help="also time visits in Chromium")
    parser.add_argument("--page", help=argparse.SUPPRESS)  # internal: measure one page
    args = parser.parse_args()
    if args.page is not None:
        print(json.dumps(measure(args.page or None, args.repeat)))
        return 0
    if not (REPO_ROOT / "data" / "flowers_train.csv").is_file():
        print("error: the bundled dataset is missing; run `make data` first", file=sys.stderr)
        return 2
    print(f"{'page':<18}{'cold s':>9}{'warm s (median)':>17}{'warm s (max)':>14}  target")
    for name, page in PAGES:
        result = subprocess.run(
            [sys.executable, __file__, "--page", page or "", "--repeat", str(args.repeat)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            print(f"{name}: failed\n{result.stderr}", file=sys.stderr)
            return 1
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        verdict = "ok" if figures["warm"] < TARGET_S else "SLOW"
        print(
            f"{name:<18}{figures['cold']:>9.2f}{figures['warm']:>17.2f}{figures['worst']:>14.2f}"
            f"  < {TARGET_S:.0f} s {verdict}"
        )
        if "slider" in figures:
            slider_verdict = "ok" if figures["slider"] < TARGET_S else "SLOW"
            print(
                f"{'  slider moved':<18}{'':>9}{figures['slider']:>17.2f}{'':>14}"
                f"  < {TARGET_S:.0f} s {slider_verdict}"
            )
    if args.browser:
        print("\nIn Chromium, a live server (navigation until the script ends and images decode)")
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"{'page':<18}{'cold s':>9}{'warm s (median)':>17}{'warm s (max)':>14}  target")
        for name, cold, median, worst in browser_visits(args.repeat):
            verdict = "ok" if median < TARGET_S else "SLOW"
            print(
                f"{name:<18}{cold:>9.2f}{median:>17.2f}{worst:>14.2f}  < {TARGET_S:.0f} s {verdict}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
