"""Command line: ``python -m flowerdash COMMAND ...``.

Each command group module exposes ``register(subparsers)``, which adds its parsers and sets
``handler`` to a function taking the parsed arguments and returning an exit code. Command
modules import heavy libraries (Keras, TensorFlow) inside their handlers only, so that
``--help`` and the data commands start fast.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.util
import os
import sys
from collections.abc import Sequence
from typing import Any

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


#: Set before TensorFlow loads: its C++ start-up logging (CPU features, oneDNN, CUDA probing)
#: would bury a command's one line of output or error. An explicit setting is kept.
QUIET_TENSORFLOW = {"TF_CPP_MIN_LOG_LEVEL": "3", "GRPC_VERBOSITY": "ERROR", "GLOG_minloglevel": "3"}


def quiet_tensorflow(args: argparse.Namespace) -> None:
    """Silence TensorFlow's C++ logging for this process and the trainers it starts, unless
    ``train --verbose 3`` asks for it.

    The environment variables cover TF's own logging; a few lines (absl's "before
    InitializeLog" notice, the CUDA stub probing for drivers) are written to the stderr file
    descriptor while the libraries load, before any setting is read, so the first
    ``import tensorflow`` runs with descriptor 2 pointed at /dev/null.
    """
    if getattr(args, "verbose", None) == 3:
        return
    for name, value in QUIET_TENSORFLOW.items():
        os.environ.setdefault(name, value)
    if "tensorflow" not in sys.modules and not any(
        isinstance(finder, _QuietTensorflowImport) for finder in sys.meta_path
    ):
        sys.meta_path.insert(0, _QuietTensorflowImport())


class _QuietTensorflowImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``tensorflow`` the usual way, and executes it with stderr's descriptor muted."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once: later imports find the loaded module
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        self._loader = spec.loader
        spec.loader = self
        return spec

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 2)
            self._loader.exec_module(module)
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (2 for bad input, with one message on stderr)."""
    args = build_parser().parse_args(argv)
    quiet_tensorflow(args)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # to start sibling processes
    try:
        return int(args.handler(args) or 0)
    except FlowerdashError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
