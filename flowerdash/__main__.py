"""Entry point for ``python -m flowerdash``."""

import sys

from flowerdash.cli import main

if __name__ == "__main__":
    sys.exit(main())
