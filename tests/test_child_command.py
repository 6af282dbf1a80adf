"""A flowerdash command in a child process: its JSON answer, or a RunError saying what failed."""

from __future__ import annotations

import os

import pytest

from flowerdash.child_command import run_flowerdash_json
from flowerdash.errors import RunError


def test_the_last_stdout_line_is_the_parsed_answer():
    answer = run_flowerdash_json(["cache", "info", "--json"], what="cache info", timeout=60)
    assert answer["cache_dir"] == os.environ["FLOWERDASH_CACHE_DIR"]
    assert answer["entries"] == []


def test_a_failing_command_raises_its_last_stderr_line(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(RunError, match=rf"^inspect failed: error: {missing}: file not found$"):
        run_flowerdash_json(["inspect", str(missing)], what="inspect", timeout=60)


def test_output_that_is_not_json_is_a_run_error():
    with pytest.raises(RunError, match=r"cache info printed no JSON result .*'entries: "):
        run_flowerdash_json(["cache", "info"], what="cache info", timeout=60)


def test_a_child_past_its_timeout_is_killed_and_named():
    with pytest.raises(RunError, match=r"^cache info did not finish within 0 s$"):
        run_flowerdash_json(["cache", "info", "--json"], what="cache info", timeout=0.01)
