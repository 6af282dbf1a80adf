"""Following a run's ``progress.jsonl`` while it grows: only the new lines are read each time.

``LiveProgress`` keeps the byte offset reached and the records read so far; ``update`` reads
what was appended since (through ``flowerdash.runs.read_progress``). The dashboard keeps one per
run in its session state and calls ``update`` about once a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowerdash import runs


@dataclass
class LiveProgress:
    """The progress records of one run read so far, split into batch and epoch records."""

    run_dir: Path
    offset: int = 0
    batches: list[dict[str, Any]] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)

    def update(self) -> int:
        """Read the records appended since the last call; return how many there were.

        A resumed run starts again after its last finished epoch, so records of an epoch it
        had begun before being interrupted are replaced by the new ones, not doubled.
        """
        records, self.offset = runs.read_progress(self.run_dir, self.offset)
        for record in records:
            if record.get("kind") == "epoch":
                self._forget_from(int(record["epoch"]), batch=None)
                self.epochs.append(record)
            elif record.get("kind") == "batch":
                self._forget_from(int(record["epoch"]), batch=int(record["batch"]))
                self.batches.append(record)
        return len(records)

    def _forget_from(self, epoch: int, batch: int | None) -> None:
        """Drop records at or after (``epoch``, ``batch``): a resume went back to there."""
        if batch is not None and self.batches:
            last = self.batches[-1]
            if (int(last["epoch"]), int(last["batch"])) >= (epoch, batch):
                self.batches = [
                    r for r in self.batches if (int(r["epoch"]), int(r["batch"])) < (epoch, batch)
                ]
                self.epochs = [r for r in self.epochs if int(r["epoch"]) < epoch]
        if self.epochs and int(self.epochs[-1]["epoch"]) >= epoch:
            self.epochs = [r for r in self.epochs if int(r["epoch"]) < epoch]

    @property
    def latest(self) -> dict[str, Any] | None:
        """The last record read (batch or epoch), or None before the first."""
        candidates = [r for r in (self.batches[-1:] + self.epochs[-1:]) if "time" in r]
        if not candidates:
            return (self.batches or self.epochs or [None])[-1]
        return max(candidates, key=lambda r: float(r["time"]))


@dataclass(frozen=True)
class ProgressSummary:
    """Where a training stands: epoch and batch (1-based), the fraction done, and the ETA."""

    epoch: int
    epochs: int
    batch: int
    batches: int
    fraction: float
    eta_seconds: float | None


def _steps_done(epoch: int, batch: int, batches: int) -> int:
    return (epoch - 1) * batches + batch


def summarize(progress: LiveProgress, epochs: int) -> ProgressSummary | None:
    """Return the position and ETA from the records read so far, None before the first batch.

    The ETA is the time per batch so far (between the first and the last record, so start-up
    and model building are left out) times the batches left; None until two batches are seen.
    """
    latest = progress.latest
    if latest is None:
        return None
    batches = max(int(latest.get("batches") or 1), 1)
    epoch = int(latest.get("epoch") or 1)
    batch = batches if latest.get("kind") == "epoch" else int(latest.get("batch") or 0)
    epochs = max(int(epochs or epoch), epoch)
    done = _steps_done(epoch, batch, batches)
    total = epochs * batches
    first = progress.batches[0] if progress.batches else None
    eta = None
    if first is not None and "time" in first and "time" in latest:
        steps = done - _steps_done(int(first["epoch"]), int(first["batch"]), batches)
        elapsed = float(latest["time"]) - float(first["time"])
        if steps > 0 and elapsed > 0:
            eta = elapsed / steps * max(total - done, 0)
    return ProgressSummary(
        epoch=epoch,
        epochs=epochs,
        batch=batch,
        batches=batches,
        fraction=min(done / total, 1.0) if total else 0.0,
        eta_seconds=eta,
    )


def format_duration(seconds: float | None) -> str:
    """Return ``seconds`` as ``"1 h 02 min"``, ``"3 min 05 s"`` or ``"42 s"`` ("?" for None)."""
    if seconds is None:
        return "?"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
