"""Data commands: inspect, convert, cache. (Being written: see docs/architecture.md.)"""

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the data commands' parsers."""
