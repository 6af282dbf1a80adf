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
from flowerdash.models import MODELS, ModelOptions
from flowerdash.pretrained.transfer import PRETRAINED_INPUT_SIZE

ParamKind = Literal["float", "int", "bool", "choice"]


@dataclass(frozen=True)
class ParamSpec:
    """One user-facing setting: what a slider, checkbox, select box or CLI option needs.

    ``minimum``/``maximum``/``step`` apply to ``float`` and ``int`` kinds, ``choices`` to
    ``choice``. ``unit`` is a short word for the value's unit ("degrees", "fraction", "") and
    ``help`` a sentence saying what the value means, in that unit. ``used_when`` names another
    setting and the values of it under which this one changes anything (the mixing alpha only
    with a mixing method); None: always.
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
    used_when: tuple[str, tuple[str, ...]] | None = None

    def in_effect(self, values: Mapping[str, Any]) -> bool:
        """Whether this setting changes anything given the other settings' ``values`` (a name
        missing from ``values`` counts as in effect)."""
        if self.used_when is None:
            return True
        name, wanted = self.used_when
        return name not in values or values[name] in wanted

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
OPTIMIZERS = ("sgd", "adam", "adamw", "nesterov")
SCHEDULES = ("tutorial_decay", "constant", "warmup_cosine")
BATCHNORM_MODES = ("keras", "adaptive")
#: Training-batch mixing: none, or the methods of ``flowerdash.data.batches.MixedBatches``.
MIX_METHODS = ("none", "mixup", "cutmix")
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
        + " ".join(f"{name}: {spec.describe}" for name, spec in MODELS.items()),
        choices=tuple(MODELS),
    ),
    ParamSpec(
        "width",
        "Width",
        "float",
        1.0,
        "Residual nets only: multiplies every stage's number of filters (0.5 halves them, "
        "about a quarter of the parameters and cost).",
        unit="x filters",
        minimum=0.125,
        maximum=4.0,
        step=0.125,
    ),
    ParamSpec(
        "stem_stride",
        "Stem stride",
        "int",
        1,
        "Residual nets only: 2 halves the image in the first convolution (a quarter of the "
        "cost; suits images of 48 pixels and more), 1 keeps full resolution.",
        unit="pixels",
        minimum=1,
        maximum=2,
        step=1,
    ),
    ParamSpec(
        "preactivation",
        "Pre-activation blocks",
        "bool",
        False,
        "Residual nets only: BatchNorm and ReLU before each convolution (He et al. 2016), "
        "which trains more easily than the original order.",
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
        "sgd: the tutorial's SGD with momentum 0.9. adam: Adam. adamw: Adam with decoupled "
        "weight decay. nesterov: SGD with Nesterov momentum 0.9 and decoupled weight decay.",
        choices=OPTIMIZERS,
    ),
    ParamSpec(
        "learning_rate",
        "Learning rate",
        "float",
        0.01,
        "Initial (or, with warmup_cosine, peak) step size; the tutorial's 0.01 for SGD, about "
        "0.001-0.003 for Adam and AdamW.",
        minimum=1e-6,
        maximum=1.0,
        step=0.0001,
    ),
    ParamSpec(
        "schedule",
        "Learning-rate schedule",
        "choice",
        "tutorial_decay",
        "tutorial_decay: lr / (1 + 0.01/epochs x step), the tutorial's decay=0.01/epochs applied "
        "per batch. constant: no change. warmup_cosine: a linear warmup over the first "
        "`warmup` share of the run's steps, then a cosine decay to 0 at its last step, so a "
        "run of any length gets the whole curve.",
        choices=SCHEDULES,
    ),
    ParamSpec(
        "warmup",
        "Warmup",
        "float",
        0.05,
        "warmup_cosine only: share of the run's steps over which the rate rises from 0.",
        unit="fraction of steps",
        minimum=0.0,
        maximum=0.5,
        step=0.01,
        used_when=("schedule", ("warmup_cosine",)),
    ),
    ParamSpec(
        "weight_decay",
        "Weight decay",
        "float",
        0.0,
        "Decoupled weight decay (adamw, nesterov): each step shrinks the weights by "
        "learning rate x this. BatchNorm parameters and biases are not decayed.",
        minimum=0.0,
        maximum=1.0,
        step=0.0001,
    ),
    ParamSpec(
        "label_smoothing",
        "Label smoothing",
        "float",
        0.0,
        "The training target gives this share of its probability evenly to all classes "
        "(0.1 is usual): less over-confident, often better on new images.",
        unit="fraction",
        minimum=0.0,
        maximum=0.5,
        step=0.01,
    ),
    ParamSpec(
        "mix",
        "Mix training images",
        "choice",
        "none",
        "none: plain batches. mixup (Zhang et al. 2018): each training image is blended with "
        "another of its batch, pixel by pixel, and so is its target. cutmix (Yun et al. 2019): "
        "a box from another image of the batch is pasted in, and the target gives that image "
        "the pasted area's share. Validation, evaluation and prediction are never mixed.",
        choices=MIX_METHODS,
    ),
    ParamSpec(
        "mix_alpha",
        "Mixing alpha",
        "float",
        0.2,
        "mixup and cutmix only: the mixing share is drawn per batch from Beta(alpha, alpha). "
        "0.2 (the default, the mixup paper's) mostly keeps one image dominant (share near 0 "
        "or 1); 1.0 (the CutMix paper's) draws the share uniformly from 0 to 1.",
        unit="Beta parameter",
        minimum=0.05,
        maximum=2.0,
        step=0.05,
        used_when=("mix", MIX_METHODS[1:]),
    ),
    ParamSpec(
        "batchnorm",
        "BatchNorm statistics",
        "choice",
        "keras",
        "keras: moving averages with Keras' momentum 0.99, which needs several hundred steps "
        "to settle. adaptive: a momentum fitted to the run's number of steps "
        "(1 - 10/steps, between 0.8 and 0.99), so short runs evaluate well.",
        choices=BATCHNORM_MODES,
    ),
    ParamSpec(
        "flip_tta",
        "Flip test-time augmentation",
        "bool",
        False,
        "Also evaluate with each test image's prediction averaged with its mirror image's; "
        "report.json and the output give that score next to the plain one.",
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
        "input_size",
        "Pretrained input size",
        "int",
        PRETRAINED_INPUT_SIZE,
        "Pretrained models only: images are resized inside the model to this many pixels a "
        "side before the backbone (larger sees more of what it learned on ImageNet, and costs "
        "more; benchmarks/transfer_resolution.py compares 64, 128, 160 and 224).",
        unit="pixels",
        minimum=32,
        maximum=512,
        step=16,
    ),
    ParamSpec(
        "frozen_epochs",
        "Head-only epochs",
        "int",
        3,
        "Pretrained models only: the first epochs train only the new classifier on the frozen "
        "backbone; fine-tuning follows in the same run.",
        unit="epochs",
        minimum=0,
        maximum=1000,
        step=1,
    ),
    ParamSpec(
        "fine_tune_blocks",
        "Fine-tuned blocks",
        "int",
        5,
        "Pretrained models only: after the head-only epochs, the top blocks of the backbone "
        "(of 16; with its 1x1 head) learn too. BatchNorm statistics stay ImageNet's.",
        unit="blocks",
        minimum=0,
        maximum=16,
        step=1,
    ),
    ParamSpec(
        "fine_tune_rate",
        "Fine-tuning rate factor",
        "float",
        0.1,
        "Pretrained models only: the fine-tuning epochs use the learning rate times this "
        "(a lower rate keeps what the backbone learned).",
        unit="x learning rate",
        minimum=0.0001,
        maximum=1.0,
        step=0.01,
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
    width: float = 1.0
    stem_stride: int = 1
    preactivation: bool = False
    mode: str = "stream"
    epochs: int = 75
    batch_size: int = 32
    optimizer: str = "sgd"
    learning_rate: float = 0.01
    schedule: str = "tutorial_decay"
    warmup: float = 0.05
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    mix: str = "none"
    mix_alpha: float = 0.2
    batchnorm: str = "keras"
    flip_tta: bool = False
    augment: bool = True
    input_size: int = PRETRAINED_INPUT_SIZE
    frozen_epochs: int = 3
    fine_tune_blocks: int = 5
    fine_tune_rate: float = 0.1
    seed: int = 42

    @property
    def model_options(self) -> ModelOptions:
        """The models' shape options (the residual nets', the pretrained one's input size)."""
        return ModelOptions(self.width, self.stem_stride, self.preactivation, self.input_size)

    @property
    def mixing(self) -> bool:
        """Whether training batches are mixed (``mix`` is mixup or cutmix, not none)."""
        return self.mix != MIX_METHODS[0]


def param(specs: Sequence[ParamSpec], name: str) -> ParamSpec:
    """The spec called ``name`` in ``specs`` (KeyError when there is none)."""
    for spec in specs:
        if spec.name == name:
            return spec
    raise KeyError(name)
