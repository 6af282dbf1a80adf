"""What a script run costs once Keras is loaded: with and without ``ui.garbage``'s freeze.

After every script run Streamlit calls ``keras.backend.clear_session()`` (a full garbage
collection) and ``gc.collect(2)``, once Keras is imported, as it is in the dashboard's server
after a page loads a model. This runs the Home page through Streamlit's AppTest in a process
that has imported Keras and built a ResNet-18 (as the Results and Predict pages do when they
load a model), and times its reruns two ways, alternated in the same process: "frozen" (the
dashboard's own behaviour: ``page_setup`` freezes the objects the imports brought) and
"unfrozen" (the freeze undone with ``gc.unfreeze()`` and disabled: Streamlit's behaviour
alone). The live view of a training reruns once a second, so this cost is paid every second.

    .venv/bin/python benchmarks/rerun_cost.py [--reruns 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def time_reruns(reruns: int) -> list[float]:
    """Seconds per rerun of the Home page (the first run, which imports the page, is left out)."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120)
    app.run()
    seconds = []
    for _ in range(reruns):
        start = time.perf_counter()
        app.run()
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("FLOWERDASH_CACHE_DIR", tempfile.mkdtemp(prefix="rerun-cost-"))

    import keras

    from flowerdash.models import build_model
    from ui import garbage

    model = build_model("resnet18", (64, 64, 3), 5)  # kept alive, as the page cache keeps it
    freeze = garbage.freeze_imported_objects
    results: dict[str, list[float]] = {"frozen": [], "unfrozen": []}
    for _ in range(args.rounds):
        garbage.freeze_imported_objects = freeze
        garbage._modules_at_last_freeze = 0  # each round starts as a fresh server
        results["frozen"] += time_reruns(args.reruns)
        gc.unfreeze()
        garbage.freeze_imported_objects = lambda: False
        results["unfrozen"] += time_reruns(args.reruns)
    tracked = len(gc.get_objects())
    print(f"keras {keras.__version__}, {model.count_params():,}-parameter model loaded, "
          f"{tracked:,} objects tracked by the collector, load average "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'Home page rerun':<18} {'median s':>9} {'max s':>7} {'runs':>5}")
    for name, seconds in results.items():
        print(f"{name:<18} {statistics.median(seconds):>9.3f} {max(seconds):>7.3f} "
              f"{len(seconds):>5}")  # fmt: skip
    ratio = statistics.median(results["unfrozen"]) / statistics.median(results["frozen"])
    print(f"unfrozen / frozen: {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
