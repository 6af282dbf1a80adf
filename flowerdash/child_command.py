"""Running one ``flowerdash`` command in a child process and reading its JSON answer.

Work that may crash the interpreter (a converter) or that must never train in the caller (the
dashboard) runs as ``python -m flowerdash ...`` with ``--json``: the command prints its result
as the last line of stdout, and a failure as ``error: ...`` on stderr with a non-zero exit
(``flowerdash.cli``). :func:`run_flowerdash_json` turns each outcome into a value or a
RunError.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from flowerdash.errors import RunError


def run_flowerdash_json(arguments: Sequence[str], *, what: str, timeout: float) -> Any:
    """Run ``flowerdash ARGUMENTS`` with this interpreter and return its last stdout line,
    parsed as JSON.

    ``what`` names the work in messages ("export"). Raises RunError when the child runs past
    ``timeout`` seconds (it is killed), exits non-zero (the message is its last stderr line),
    or prints no JSON line last.
    """
    command = [sys.executable, "-m", "flowerdash", *arguments]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RunError(f"{what} did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise RunError(f"{what} failed: {lines[-1] if lines else f'exit {done.returncode}'}")
    lines = done.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        last = repr(lines[-1][:200]) if lines else "nothing"
        raise RunError(f"{what} printed no JSON result (its last output line: {last})") from None
