"""Training phases: spans of epochs with their own trainable layers and learning rate.

A model trained from scratch has one phase, every epoch. A pretrained one
(:mod:`flowerdash.pretrained.transfer`) has two, in the same run: ``head`` (the first
``frozen_epochs``: only the new classifier learns, on the frozen backbone) and ``fine-tune``
(the rest: the top ``fine_tune_blocks`` blocks learn too, at ``fine_tune_rate`` times the
learning rate). The engine compiles the model for each phase and fits that phase's epochs
with the same callbacks, so epochs number on across phases in ``history.csv``, the progress
records and the backup; a resume continues in the phase of the epoch its backup holds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainingPhase:
    """Epochs ``start`` (0-based, included) to ``end`` (excluded), trained with
    ``learning_rate``; ``trainable_blocks`` is None for a model trained whole, else the number
    of top backbone blocks that learn (0: only the new classifier)."""

    name: str
    start: int
    end: int
    learning_rate: float
    trainable_blocks: int | None = None

    @property
    def epochs(self) -> int:
        return self.end - self.start


def training_phases(
    epochs: int,
    learning_rate: float,
    *,
    pretrained: bool,
    frozen_epochs: int = 0,
    fine_tune_blocks: int = 0,
    fine_tune_rate: float = 1.0,
) -> list[TrainingPhase]:
    """The phases of a run of ``epochs`` epochs (empty phases left out)."""
    if not pretrained:
        return [TrainingPhase("train", 0, epochs, learning_rate)]
    frozen = min(frozen_epochs, epochs)
    phases = [
        TrainingPhase("head", 0, frozen, learning_rate, trainable_blocks=0),
        TrainingPhase(
            "fine-tune",
            frozen,
            epochs,
            learning_rate * fine_tune_rate,
            trainable_blocks=fine_tune_blocks,
        ),
    ]
    return [phase for phase in phases if phase.epochs > 0]


def describe_phases(phases: list[TrainingPhase]) -> str:
    """One line for the log: ``"head: epochs 1-3 at lr 0.001; fine-tune: epochs 4-10 ..."``."""
    parts = []
    for phase in phases:
        what = f"{phase.name}: epochs {phase.start + 1}-{phase.end} at lr {phase.learning_rate:g}"
        if phase.trainable_blocks is not None:
            what += (
                f", top {phase.trainable_blocks} backbone blocks learning"
                if phase.trainable_blocks
                else ", backbone frozen"
            )
        parts.append(what)
    return "; ".join(parts)
