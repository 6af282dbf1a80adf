"""Peak memory and time of ``inspect`` on decompression bombs (issue #12), in fresh processes.

Builds the issue's bombs (multi-member gzip, written at disk speed; see
``tests/bad_input_corpus.py``) in a temporary folder:

- ``wide``: valid 784-pixel rows (28x28x1), ~1.7 KB a line;
- ``dots``: valid 1-pixel rows, 6 bytes a line (the per-row bookkeeping bomb);

and runs ``python -m flowerdash inspect`` on each in a fresh process, reporting its exit code,
wall time, peak resident memory (``ru_maxrss`` of that child alone) and what it said:

1. with the default limits (refused as a bomb);
2. with the limits raised so the whole file is read, into the cache (pixels and codes stream
   to disk) and, for ``dots``, without the cache (pixels and codes in memory).

``--baseline REV`` also runs the same commands on the code of an older revision (extracted
with ``git archive``), side by side: that is how the "before" figures are measured. Sizes are
``--gib`` (default 1 GiB expanded; the issue's 4 GiB works too, slowly on 2 cores).

Usage: ``python benchmarks/bad_input.py [--gib 1] [--baseline abde90d]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from bad_input_corpus import ONE_PIXEL_ROW, WIDE_ROW, gzip_bomb  # noqa: E402

RAISED = {"FLOWERDASH_MAX_GZIP_RATIO": "100000", "FLOWERDASH_MAX_GZIP_SIZE": "64G"}


def run_inspect(
    code: Path, path: Path, cache: Path, env_extra: dict[str, str], no_cache: bool, timeout: float
) -> tuple[int | str, float, float, str]:
    """``(exit code, seconds, peak RSS MB, last stderr line)`` of one inspect process."""
    env = {**os.environ, "PYTHONPATH": str(code), "FLOWERDASH_CACHE_DIR": str(cache), **env_extra}
    command = [sys.executable, "-m", "flowerdash", "inspect", str(path), "--json"]
    command += ["--no-cache"] if no_cache else []
    with tempfile.TemporaryFile() as err:
        started = time.monotonic()
        # run from the cache's folder: '' on sys.path must not be this checkout
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=cache.parent
        )
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                status = None
                break
            time.sleep(0.05)
        seconds = time.monotonic() - started
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
    code_text: int | str = "timeout" if status is None else os.waitstatus_to_exitcode(status)
    message = lines[-1] if lines else ""
    return code_text, seconds, usage.ru_maxrss / 1024, message


def extract(revision: str, folder: Path) -> Path:
    """The ``flowerdash`` package of ``revision``, unpacked under ``folder``."""
    archive = folder / "baseline.tar"
    with open(archive, "wb") as handle:
        command = ["git", "archive", revision, "flowerdash"]
        subprocess.run(command, cwd=REPO, stdout=handle, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder / "baseline", filter="data")
    return folder / "baseline"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gib", type=float, default=1.0, help="expanded size of each bomb (1)")
    parser.add_argument("--baseline", help="also run an older revision's code (e.g. abde90d)")
    parser.add_argument("--timeout", type=float, default=600, help="per run, seconds (600)")
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(f"CPU cores: {len(os.sched_getaffinity(0))}")
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        expanded = int(args.gib * (1 << 30))
        bombs = {
            "wide": gzip_bomb(folder / "wide.csv.gz", WIDE_ROW, expanded),
            "dots": gzip_bomb(folder / "dots.csv.gz", ONE_PIXEL_ROW, expanded),
        }
        for name, path in bombs.items():
            print(f"{name}: {path.stat().st_size / 1e6:.1f} MB gzip, {args.gib:g} GiB expanded")
        codes = {"this tree": REPO}
        if args.baseline:
            codes[f"baseline {args.baseline}"] = extract(args.baseline, folder)
        cases = [
            ("wide", "default limits", {}, False),
            ("dots", "default limits", {}, False),
            ("dots", "default limits, --no-cache", {}, True),
            ("wide", "limits raised, cache", RAISED, False),
            ("dots", "limits raised, cache", RAISED, False),
            ("dots", "limits raised, --no-cache", RAISED, True),
        ]
        print()
        print(f"{'bomb':<5} {'case':<28} {'code':<18} {'exit':>7} {'seconds':>8} {'peak RSS':>10}")
        messages = []
        for bomb, label, env, no_cache in cases:
            for code_name, code in codes.items():
                if code_name != "this tree" and env:
                    continue  # older code has no limits to raise: its default case says it all
                cache = folder / f"cache-{len(messages)}"
                result = run_inspect(code, bombs[bomb], cache, env, no_cache, args.timeout)
                exit_code, seconds, peak, message = result
                print(
                    f"{bomb:<5} {label:<28} {code_name:<18} {exit_code!s:>7} {seconds:>8.1f} "
                    f"{peak:>7.0f} MB"
                )
                messages.append(f"{bomb}, {label}, {code_name}: {message[:220] or '(no error)'}")
                for leftover in cache.rglob("*.pixels"):
                    leftover.unlink()
        print()
        for message in messages:
            print(message)
        print()
        print("bound: peak RSS < 300 MB plus the decoded pixels kept in memory (--no-cache)")


if __name__ == "__main__":
    main()
