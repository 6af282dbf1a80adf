"""Keras callbacks that connect a training to its run directory.

Used by every training mode (``fit`` calls them, the manual ``train_on_batch`` loop calls them
through a ``keras.callbacks.CallbackList``), so the outputs are the same whatever the mode.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from flowerdash import runs
from flowerdash.train.rundir import RunWriter


def _number(value: Any) -> float:
    return float(np.asarray(value))


class LearningRateLogger(keras.callbacks.Callback):
    """Adds the optimizer's current ``learning_rate`` to each epoch's logs (for CSVLogger)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = _number(self.model.optimizer.learning_rate)


class HistoryPublisher(keras.callbacks.Callback):
    """After CSVLogger wrote its row, publish its file as ``history.csv`` atomically."""

    def __init__(self, writer: RunWriter, source: Path) -> None:
        super().__init__()
        self.writer = writer
        self.source = source

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.source.exists():
            self.writer.publish_copy(self.source, runs.HISTORY)


class ProgressWriter(keras.callbacks.Callback):
    """Appends per-batch (throttled) and per-epoch records to ``progress.jsonl``.

    Epochs and batches are 1-based in the records; ``status.json``'s ``epoch`` counts the
    epochs finished.
    """

    def __init__(self, writer: RunWriter, batches: int, *, every_seconds: float = 0.5) -> None:
        super().__init__()
        self.writer = writer
        self.batches = batches
        self.every_seconds = every_seconds
        self._epoch = 0
        self._batch = 0
        self._last_write = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch + 1
        self._batch = 0

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batch = batch + 1
        now = time.time()
        if now - self._last_write < self.every_seconds and self._batch != self.batches:
            return
        self._last_write = now
        record = {"kind": "batch", "epoch": self._epoch, "batch": self._batch}
        record.update(batches=self.batches, time=now)
        for key in ("loss", "accuracy"):
            if logs and key in logs:
                record[key] = _number(logs[key])
        self.writer.append_progress(record)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        record: dict[str, Any] = {"kind": "epoch", "epoch": epoch + 1, "batch": self._batch}
        record.update(batches=self.batches, time=time.time())
        record["partial"] = self._batch < self.batches
        for key, value in (logs or {}).items():
            record[key] = _number(value)
        self.writer.append_progress(record)
        self.writer.update_status(epoch=epoch + 1)


class StopWatcher(keras.callbacks.Callback):
    """Stops training at the next batch boundary on a ``STOP`` file or SIGTERM/SIGINT.

    Keras 3 checks ``model.stop_training`` after every batch, then still validates and ends the
    epoch, so the callbacks record the shortened epoch and the trainer evaluates and saves.
    """

    def __init__(self, writer: RunWriter, agree: Callable[[bool], bool] | None = None) -> None:
        super().__init__()
        self.writer = writer
        self.agree = agree  # in several processes: process 0's decision, taken by all
        self.signalled: str | None = None
        self.requested = False
        self._previous: dict[int, Any] = {}

    def install_signal_handlers(self) -> None:
        """Handle SIGTERM and SIGINT (a second SIGINT interrupts as usual). Main thread only."""

        def handle(signum: int, frame: Any) -> None:
            name = signal.Signals(signum).name
            if signum == signal.SIGINT and self.signalled == "SIGINT":
                raise KeyboardInterrupt
            self.signalled = name

        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                self._previous[signum] = signal.signal(signum, handle)
            except ValueError:  # not the main thread: the STOP file still works
                return

    def restore_signal_handlers(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def check(self) -> bool:
        """Whether a stop was asked for (then marks the run ``stopping`` once)."""
        if not self.requested and (self.signalled or runs.stop_requested(self.writer.path)):
            self.requested = True
            reason = self.signalled or "STOP file"
            print(f"\nstop requested ({reason}): finishing this batch, then evaluating and saving")
            self.writer.set_state("stopping")
        return self.requested

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        requested = self.check()
        if self.agree is not None:
            requested = self.requested = self.agree(requested)
        if requested:
            self.model.stop_training = True
