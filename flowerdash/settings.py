"""Training settings, declared once: default, unit, limits and help text for the CLI and the pages.

A :class:`ParamSpec` describes one setting as data, so the command line builds its options and
the dashboard builds its widgets from the same declaration (``TRAIN_PARAMS`` here,
``flowerdash.augment.AUGMENT_PARAMS`` for augmentation). :class:`TrainSettings` holds the values.
Importing this module is cheap: no Keras, no TensorFlow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self

from flowerdash.errors import ConfigError
from flowerdash.models import MODEL_DESCRIPTIONS

ParamKind = Literal["float", "int", "bool", "choice"]


@dataclass(frozen=True)
class ParamSpec:
    """One user-facing setting: what a slider, checkbox, select box or CLI option needs.

    ``minimum``/``maximum``/``step`` apply to ``float`` and ``int`` kinds, ``choices`` to
    ``choice``. ``unit`` is a short word for the value's unit ("degrees", "fraction", "") and
    ``help`` a sentence saying what the value means, in that unit.
    """

    name: str
    label: str
    kind: ParamKind
    default: Any
    help: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def cli_flag(self) -> str:
        """The command-line option for this setting, e.g. ``--learning-rate``."""
        return "--" + self.name.replace("_", "-")

    def check(self, value: Any) -> Any:
        """Return ``value`` converted to this kind; raise ConfigError when it is out of range."""
        try:
            if self.kind == "bool":
                if not isinstance(value, bool):
                    raise TypeError
                converted: Any = value
            elif self.kind == "int":
                if isinstance(value, bool) or float(value) != int(value):
                    raise TypeError
                converted = int(value)
            elif self.kind == "float":
                if isinstance(value, bool):
                    raise TypeError
                converted = float(value)
            else:
                converted = str(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"setting {self.name!r}: expected {self.kind}, got {value!r}"
            ) from None
        if self.kind == "choice" and converted not in self.choices:
            raise ConfigError(
                f"setting {self.name!r}: expected one of {', '.join(self.choices)}, "
                f"got {converted!r}"
            )
        if self.kind in ("int", "float"):
            low, high = self.minimum, self.maximum
            if (low is not None and converted < low) or (high is not None and converted > high):
                raise ConfigError(
                    f"setting {self.name!r}: expected a value from {low} to {high}"
                    f"{' ' + self.unit if self.unit else ''}, got {converted}"
                )
        return converted


def checked_values(
    specs: Sequence[ParamSpec], values: Mapping[str, Any], *, what: str
) -> dict[str, Any]:
    """Return ``values`` checked against ``specs`` (missing names get the default).

    Raises ConfigError naming an unknown setting or a value out of range.
    """
    known = {spec.name: spec for spec in specs}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown {what} setting(s): {', '.join(unknown)}; expected: {', '.join(known)}"
        )
    return {
        name: spec.check(values[name]) if name in values else spec.default
        for name, spec in known.items()
    }


class DeclaredSettings:
    """Base of the frozen dataclasses whose fields are declared by a tuple of ``ParamSpec``.

    Subclasses set ``PARAMS`` (the declarations) and ``WHAT`` (a word for error messages).
    """

    PARAMS: ClassVar[tuple[ParamSpec, ...]]
    WHAT: ClassVar[str]

    def __post_init__(self) -> None:
        checked_values(self.PARAMS, dataclasses.asdict(self), what=self.WHAT)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Self:
        """Settings from a dict such as ``to_dict()``'s; missing names take the default.

        Raises ConfigError on an unknown name or a value out of range.
        """
        return cls(**checked_values(cls.PARAMS, values, what=cls.WHAT))


MODES = ("memory", "stream", "manual")
OPTIMIZERS = ("sgd", "adam")
MODE_HELP = (
    "memory: fit() on arrays held in RAM (fastest when the data fits). "
    "stream: fit() on a keras.utils.PyDataset reading batches from the memory-mapped cache "
    "(bounded memory, the modern fit_generator). "
    "manual: a train_on_batch() loop with the same callbacks. All three give the same outputs."
)

TRAIN_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "model",
        "Model",
        "choice",
        "minivggnet",
        "Network architecture. "
        + " ".join(f"{name}: {text}" for name, text in MODEL_DESCRIPTIONS.items()),
        choices=tuple(MODEL_DESCRIPTIONS),
    ),
    ParamSpec("mode", "Training mode", "choice", "stream", MODE_HELP, choices=MODES),
    ParamSpec(
        "epochs",
        "Epochs",
        "int",
        75,
        "Passes over the whole training set (the tutorial trains 75).",
        unit="epochs",
        minimum=1,
        maximum=1000,
        step=1,
    ),
    ParamSpec(
        "batch_size",
        "Batch size",
        "int",
        32,
        "Images per training step (the tutorial uses 32).",
        unit="images",
        minimum=1,
        maximum=1024,
        step=1,
    ),
    ParamSpec(
        "optimizer",
        "Optimizer",
        "choice",
        "sgd",
        "sgd: the tutorial's SGD with momentum 0.9 and learning-rate decay 0.01/epochs per "
        "step. adam: Adam with a constant learning rate (0.001 usually suits it).",
        choices=OPTIMIZERS,
    ),
    ParamSpec(
        "learning_rate",
        "Learning rate",
        "float",
        0.01,
        "Initial step size (the tutorial's 0.01 for SGD). With SGD it decays as "
        "lr / (1 + 0.01/epochs x step), as the tutorial's decay=0.01/epochs did.",
        minimum=1e-6,
        maximum=1.0,
        step=0.0001,
    ),
    ParamSpec(
        "augment",
        "Augment training images",
        "bool",
        True,
        "Apply the random augmentation (rotation, zoom, shift, shear, flip) to training "
        "batches. Validation and test images are never augmented.",
    ),
    ParamSpec(
        "seed",
        "Random seed",
        "int",
        42,
        "Seeds weight initialisation, shuffling and augmentation, so a run can be repeated.",
        minimum=0,
        maximum=2**31 - 1,
        step=1,
    ),
)


@dataclass(frozen=True)
class TrainSettings(DeclaredSettings):
    """Values of the settings in ``TRAIN_PARAMS``; the defaults are the tutorial's."""

    PARAMS: ClassVar[tuple[ParamSpec, ...]] = TRAIN_PARAMS
    WHAT: ClassVar[str] = "training"

    model: str = "minivggnet"
    mode: str = "stream"
    epochs: int = 75
    batch_size: int = 32
    optimizer: str = "sgd"
    learning_rate: float = 0.01
    augment: bool = True
    seed: int = 42


def param(specs: Sequence[ParamSpec], name: str) -> ParamSpec:
    """The spec called ``name`` in ``specs`` (KeyError when there is none)."""
    for spec in specs:
        if spec.name == name:
            return spec
    raise KeyError(name)
