"""Training commands: train, evaluate, predict. (Being written: see docs/architecture.md.)"""

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the training commands' parsers."""
