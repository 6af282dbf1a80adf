"""Command line: ``python -m flowerdash COMMAND ...``.

Each command group module exposes ``register(subparsers)``, which adds its parsers and sets
``handler`` to a function taking the parsed arguments and returning an exit code. Command
modules import heavy libraries (Keras, TensorFlow) inside their handlers only, so that
``--help`` and the data commands start fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from flowerdash import __version__
from flowerdash.errors import FlowerdashError


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for every command."""
    from flowerdash.cli import data_commands, model_commands, train_commands

    parser = argparse.ArgumentParser(
        prog="python -m flowerdash",
        description="Train image classifiers on image datasets serialized as CSV files.",
    )
    parser.add_argument("--version", action="version", version=f"flowerdash {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data_commands.register(subparsers)
    train_commands.register(subparsers)
    model_commands.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (2 for bad input, with one message on stderr)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except FlowerdashError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
