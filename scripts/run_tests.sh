#!/usr/bin/env bash
# The whole suite: lint, then pytest. pytest's exit 5 (no tests collected) is a failure here.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
$PY -m ruff check . || exit 1
$PY -m ruff format --check . || exit 1
$PY -m pytest "$@"
rc=$?
if [ "$rc" = 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi
exit "$rc"
