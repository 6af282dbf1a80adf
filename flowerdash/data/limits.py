"""Resource limits for reading files that may be hostile: how far gzip data may expand and how
much the parsed-data cache may write.

The defaults pass any genuine image CSV (a gzipped pixel CSV expands 3 to 10 times; the
limits refuse decompression bombs, which expand hundreds of times). Each limit is raised by an
environment variable, read at every load, so the CLI, the dashboard and the training process
it starts all see it; ``inspect`` also takes them as options.

=============================== ======== ================================================
variable                        default  limit
=============================== ======== ================================================
``FLOWERDASH_MAX_GZIP_RATIO``   100      decompressed / compressed bytes of a ``.gz``
                                         (checked once 64 MiB are decompressed)
``FLOWERDASH_MAX_GZIP_SIZE``    16G      decompressed bytes of a ``.gz``
``FLOWERDASH_CACHE_MAX_SIZE``   64G      bytes the cache folder may hold, this entry included
``FLOWERDASH_CACHE_FREE_SPACE`` 1G       free disk space the cache always leaves
=============================== ======== ================================================

Sizes are bytes, or a number with ``K``, ``M``, ``G`` or ``T`` (powers of 1024).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from flowerdash.errors import ConfigError

GZIP_RATIO_ENV = "FLOWERDASH_MAX_GZIP_RATIO"
GZIP_SIZE_ENV = "FLOWERDASH_MAX_GZIP_SIZE"
CACHE_SIZE_ENV = "FLOWERDASH_CACHE_MAX_SIZE"
CACHE_FREE_ENV = "FLOWERDASH_CACHE_FREE_SPACE"

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)


def parse_size(text: str, what: str = "size") -> int:
    """Bytes from ``"16G"``, ``"500M"``, ``"1.5g"``, ``"4096"``. Raises ConfigError."""
    match = _SIZE.fullmatch(str(text))
    if match is None:
        raise ConfigError(
            f"{what}: {text!r} is not a size; expected bytes or a number with K, M, G or T "
            "(e.g. 16G)"
        )
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def format_size(count: float) -> str:
    """``1536`` -> ``"1.5 KiB"``: a byte count as people read it."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


@dataclass(frozen=True)
class ReadLimits:
    """The limits one load works under (see the module docstring for what each means)."""

    gzip_ratio: float = 100.0
    gzip_size: int = 16 << 30
    cache_size: int = 64 << 30
    cache_free: int = 1 << 30
    #: decompressed bytes before the ratio is judged (small files may be very repetitive)
    ratio_after: int = 64 << 20

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ReadLimits:
        """The defaults, with any limit the environment sets. Raises ConfigError for a value
        that is not a number or size."""
        env = os.environ if environ is None else environ
        limits = cls()
        if env.get(GZIP_RATIO_ENV):
            limits = limits.with_gzip_ratio(env[GZIP_RATIO_ENV], GZIP_RATIO_ENV)
        sizes = {GZIP_SIZE_ENV: "gzip_size", CACHE_SIZE_ENV: "cache_size"}
        sizes[CACHE_FREE_ENV] = "cache_free"
        for variable, name in sizes.items():
            if env.get(variable):
                limits = replace(limits, **{name: parse_size(env[variable], variable)})
        return limits

    def with_gzip_ratio(self, text: str | float, what: str = "gzip ratio") -> ReadLimits:
        """A copy with another expansion ratio limit (a number above 1)."""
        try:
            ratio = float(text)
        except ValueError:
            ratio = 0.0
        if not ratio > 1:
            raise ConfigError(f"{what}: {text!r} is not a ratio; expected a number above 1")
        return replace(self, gzip_ratio=ratio)
