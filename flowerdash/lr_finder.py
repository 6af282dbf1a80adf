"""Learning-rate finder: a short range test on a copy of the model (as fastai's ``lr_find``).

The rate grows exponentially from ``start`` to ``end`` over at most ``steps`` training steps
(one batch each, drawn at random from the training set); each step's loss is recorded and
smoothed (an exponential moving average with bias correction). The test stops when the
smoothed loss exceeds ``EXPLODE_FACTOR`` times its best, when the loss is not finite, or when
``max_seconds`` have passed. The suggestion is the rate where the smoothed loss falls fastest
(steepest negative slope against log rate) before its minimum.

Nothing trains for real: the model given is cloned (fresh weights, its own optimizer) and
thrown away. The optimizer is the run's own (``flowerdash.train.optimizers``) with its
learning rate replaced by the growing schedule. The loss is plain sparse cross-entropy on
plain batches: the run's label smoothing and mixing (``mix``) are ignored, since the test only
looks for where the loss starts falling and where it blows up. Keras is imported inside the
functions only.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from flowerdash.child_command import run_flowerdash_json
from flowerdash.errors import ConfigError

if TYPE_CHECKING:
    import keras

    from flowerdash.augment import AugmentSettings
    from flowerdash.settings import TrainSettings

DEFAULT_START = 1e-5
DEFAULT_END = 1.0
DEFAULT_STEPS = 100
MAX_STEPS = 500
DEFAULT_MAX_SECONDS = 120.0
EXPLODE_FACTOR = 4.0
SMOOTHING = 0.9
#: Start-up of the child process (Python, Keras, the dataset) on top of the test's own bound.
SUBPROCESS_OVERHEAD_S = 120.0


@dataclass(frozen=True)
class RangeTest:
    """One LR range test: the rate and loss of each step, and what it concluded."""

    rates: list[float]
    losses: list[float]
    smoothed: list[float]
    suggestion: float | None
    stopped: str  # "exploded", "end" (all steps ran) or "time"
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (non-finite losses become None)."""
        values = asdict(self)
        values["losses"] = [v if math.isfinite(v) else None for v in self.losses]
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RangeTest:
        """The inverse of :meth:`to_dict`."""
        losses = [float("nan") if v is None else float(v) for v in values["losses"]]
        return cls(
            rates=[float(v) for v in values["rates"]],
            losses=losses,
            smoothed=[float(v) for v in values["smoothed"]],
            suggestion=None if values["suggestion"] is None else float(values["suggestion"]),
            stopped=str(values["stopped"]),
            seconds=float(values["seconds"]),
        )


def smooth_losses(losses: list[float], beta: float = SMOOTHING) -> list[float]:
    """Exponential moving average of ``losses`` with bias correction (fastai's smoothing)."""
    average, smoothed = 0.0, []
    for step, loss in enumerate(losses, start=1):
        average = beta * average + (1 - beta) * loss
        smoothed.append(average / (1 - beta**step))
    return smoothed


def suggest_rate(rates: list[float], smoothed: list[float]) -> float | None:
    """The rate of steepest descent of ``smoothed`` (against log rate) up to its minimum.

    The first tenth of the steps is skipped (the average is still settling there, as fastai's
    ``skip_start``). None when fewer than three points lie between them and the minimum, or
    when the loss never falls there.
    """
    values = np.asarray(smoothed, dtype=float)
    finite = np.isfinite(values)
    if finite.sum() < 3:
        return None
    skip = max(1, len(values) // 10)
    lowest = int(np.nanargmin(np.where(finite, values, np.nan)))
    if lowest - skip < 2:
        return None
    window = slice(skip, lowest + 1)
    slopes = np.gradient(values[window], np.log(np.asarray(rates[window])))
    if slopes.min() >= 0:
        return None
    return float(rates[skip + int(np.argmin(slopes))])


def _check_bounds(start: float, end: float, steps: int, max_seconds: float) -> None:
    if not 0 < start < end:
        raise ConfigError(f"the range test needs 0 < start < end, got start {start}, end {end}")
    if not 3 <= steps <= MAX_STEPS:
        raise ConfigError(f"the range test takes 3 to {MAX_STEPS} steps, got {steps}")
    if max_seconds <= 0:
        raise ConfigError(f"the range test needs a positive time limit, got {max_seconds}")


def lr_range_test(
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    batch_size: int = 32,
    start: float = DEFAULT_START,
    end: float = DEFAULT_END,
    steps: int = DEFAULT_STEPS,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    seed: int = 0,
) -> RangeTest:
    """Run the range test on a clone of ``model`` with ``optimizer``'s kind and settings.

    ``images`` are raw pixels ``(N, H, W, C)``, ``labels`` class indices ``(N,)``. Neither
    ``model`` nor ``optimizer`` is changed. Raises ConfigError for bounds out of range.
    """
    _check_bounds(start, end, steps, max_seconds)
    import keras

    growth = (end / start) ** (1.0 / (steps - 1))
    config = optimizer.get_config()
    config["learning_rate"] = keras.optimizers.schedules.ExponentialDecay(
        start, decay_steps=1, decay_rate=growth
    )
    copy = keras.models.clone_model(model)
    copy.compile(
        optimizer=type(optimizer).from_config(config), loss="sparse_categorical_crossentropy"
    )
    rng = np.random.default_rng(seed)
    began = time.monotonic()
    rates: list[float] = []
    losses: list[float] = []
    stopped = "end"
    best = math.inf
    for step in range(steps):
        rows = rng.integers(0, len(images), batch_size)
        batch = np.asarray(images[np.sort(rows)], dtype=np.float32)
        loss = float(copy.train_on_batch(batch, np.asarray(labels)[np.sort(rows)]))
        rates.append(start * growth**step)
        losses.append(loss)
        if not math.isfinite(loss):
            stopped = "exploded"
            break
        current = smooth_losses(losses)[-1]
        best = min(best, current)
        if step > 2 and current > EXPLODE_FACTOR * best:
            stopped = "exploded"
            break
        if time.monotonic() - began > max_seconds:
            stopped = "time"
            break
    finite = [loss for loss in losses if math.isfinite(loss)]
    smoothed = smooth_losses(finite)
    return RangeTest(
        rates=rates,
        losses=losses,
        smoothed=smoothed + [math.nan] * (len(losses) - len(finite)),
        suggestion=suggest_rate(rates[: len(smoothed)], smoothed),
        stopped=stopped,
        seconds=round(time.monotonic() - began, 2),
    )


def find_learning_rate(
    train_path: str | os.PathLike[str],
    settings: TrainSettings,
    augment: AugmentSettings,
    *,
    shape: tuple[int, int, int] | None = None,
    start: float = DEFAULT_START,
    end: float = DEFAULT_END,
    steps: int = DEFAULT_STEPS,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> RangeTest:
    """The range test for training ``settings`` (model, optimizer, batch size, augmentation)
    on the training CSV, with the model built as ``flowerdash train`` builds it."""
    from flowerdash.data import load_dataset

    _check_bounds(start, end, steps, max_seconds)
    dataset = load_dataset(train_path, shape)  # bad input is reported before Keras loads
    classes = [str(c) for c in dataset.classes]
    if len(classes) < 2:
        raise ConfigError(f"{dataset.path}: only one class in the training file")
    import keras

    from flowerdash.augment import build_augmentation
    from flowerdash.models import build_model
    from flowerdash.train.optimizers import build_optimizer

    keras.utils.set_random_seed(settings.seed)
    augmentation = build_augmentation(augment, settings.seed) if settings.augment else None
    model = build_model(
        settings.model,
        tuple(dataset.images.shape[1:]),
        len(classes),
        augmentation=augmentation,
        options=settings.model_options,
    )
    steps_per_epoch = -(-len(dataset.images) // settings.batch_size)
    optimizer = build_optimizer(settings, steps_per_epoch)
    return lr_range_test(
        model,
        optimizer,
        dataset.images,
        dataset.label_indices(classes),
        batch_size=settings.batch_size,
        start=start,
        end=end,
        steps=steps,
        max_seconds=max_seconds,
        seed=settings.seed,
    )


def find_learning_rate_in_subprocess(
    train_path: str | os.PathLike[str],
    options: dict[str, Any],
    *,
    shape: str | None = None,
    steps: int = DEFAULT_STEPS,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> RangeTest:
    """Run ``flowerdash lr-find`` in a child process (training never runs in the caller) and
    return its result. ``options`` maps setting names (training and augmentation) to values.
    The child is killed after ``max_seconds`` plus start-up; raises RunError on failure."""
    from flowerdash.augment import AUGMENT_PARAMS
    from flowerdash.settings import TRAIN_PARAMS
    from flowerdash.train.options import spec_arguments

    arguments = ["lr-find", "--train", os.fspath(train_path)]
    arguments += ["--steps", str(steps), "--max-seconds", str(max_seconds), "--json"]
    if shape:
        arguments += ["--shape", shape]
    settings = {name: value for name, value in options.items() if name != "learning_rate"}
    arguments += spec_arguments((*TRAIN_PARAMS, *AUGMENT_PARAMS), settings)
    timeout = max_seconds + SUBPROCESS_OVERHEAD_S
    found = run_flowerdash_json(arguments, what="the learning-rate finder", timeout=timeout)
    return RangeTest.from_dict(found)


def describe(result: RangeTest) -> str:
    """One line: the suggestion and why the test stopped."""
    why = {
        "exploded": "the loss exploded",
        "end": "all steps ran",
        "time": "the time limit was reached",
    }[result.stopped]
    found = (
        f"suggested learning rate {result.suggestion:.2g}"
        if result.suggestion is not None
        else "no suggestion (the loss did not fall)"
    )
    top = f"{result.rates[-1]:.2g}" if result.rates else "-"
    return f"{found}; {len(result.rates)} steps up to rate {top} in {result.seconds:.0f} s ({why})"
