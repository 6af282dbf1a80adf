"""Model registry: networks built by name for a dataset's input shape and class count.

Every model takes raw 0-255 pixels (``Rescaling(1/255)`` is its first layer after the optional
augmentation block), so a saved ``model.keras`` predicts on images exactly as stored in the CSV.
Each entry's cost (parameters, multiply-accumulates per image, memory to train) is computed
analytically from the same description that builds it (``flowerdash.models.network``), so
:func:`model_cost` and :func:`check_model_fits` never import Keras. Add a model with
:func:`register_model`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flowerdash.errors import ConfigError
from flowerdash.models.architectures import (
    RESNET18_STAGES,
    ModelOptions,
    cifar_stages,
    minivggnet,
    resnet,
)
from flowerdash.models.network import CostNetwork, KerasNetwork, TooSmall

if TYPE_CHECKING:
    import keras

__all__ = [
    "AUGMENTATION_LAYER",
    "MODELS",
    "PRETRAINED_SETTINGS",
    "RESNET_SETTINGS",
    "ModelCost",
    "ModelOptions",
    "ModelSpec",
    "build_model",
    "check_model_fits",
    "minimum_side",
    "model_cost",
    "register_model",
    "setting_applies",
]

AUGMENTATION_LAYER = "augmentation"
#: Bytes per float32 value.
_FLOAT = 4
#: Float values kept per weight while training: the weight, its gradient, two optimizer slots.
_PER_WEIGHT = 4
#: Activation copies kept per value while training (forward output, its gradient, workspace).
_PER_ACTIVATION = 3
#: Share of the machine's memory a training may plan to use.
MEMORY_SHARE = 0.5


@dataclass(frozen=True)
class ModelCost:
    """A model's size for one input shape: ``params`` (as Keras' ``count_params``), ``macs``
    (multiply-accumulates per image; FLOPs are about twice that), ``activations`` (values
    output per image) and ``largest_layer`` (weights of the biggest layer)."""

    params: int
    macs: int
    activations: int
    largest_layer: int

    def training_bytes(self, batch_size: int) -> int:
        """Memory training needs, roughly: weights with gradients and optimizer slots, plus
        the activations of one batch kept for the backward pass."""
        return _FLOAT * (
            _PER_WEIGHT * self.params + _PER_ACTIVATION * self.activations * batch_size
        )

    def summary(self) -> str:
        """For display: ``"0.70 M parameters, 44.6 M MACs per image"``."""
        return f"{_count(self.params)} parameters, {_count(self.macs)} MACs per image"


def _count(value: int) -> str:
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.2f} {unit}"
    return str(value)


@dataclass(frozen=True)
class ModelSpec:
    """One registry entry.

    ``describe`` is a sentence for help texts and the model choice; ``network(net, x,
    num_classes, options)`` writes the architecture against a
    :class:`~flowerdash.models.network.Network`, which gives both the Keras graph and the
    analytic cost; ``settings`` names the training settings that only this kind of model
    uses (:data:`RESNET_SETTINGS`, :data:`PRETRAINED_SETTINGS`). A model that cannot be
    written that way (a pretrained one) is a subclass overriding :meth:`outputs` and :meth:`cost`.
    """

    name: str
    describe: str
    network: Callable[..., Any]
    settings: frozenset[str] = frozenset()

    def outputs(self, x: Any, num_classes: int, options: ModelOptions) -> Any:
        """The Keras output tensor (probabilities) for the rescaled input tensor ``x``."""
        return self.network(KerasNetwork(), x, num_classes, options)

    def cost(
        self, input_shape: tuple[int, ...], num_classes: int, options: ModelOptions
    ) -> ModelCost:
        """The analytic cost; raises :class:`~flowerdash.models.network.TooSmall` when an
        image side is smaller than a stride or pooling needs."""
        net = CostNetwork()
        self.network(net, tuple(int(v) for v in input_shape), num_classes, options)
        return ModelCost(net.params, net.macs, net.activations, net.largest_layer)


MODELS: dict[str, ModelSpec] = {}
#: Training settings only the residual nets use (their shape options).
RESNET_SETTINGS = frozenset({"width", "stem_stride", "preactivation"})
#: Training settings only the pretrained model uses (its input size and its two phases).
PRETRAINED_SETTINGS = frozenset(
    {"input_size", "frozen_epochs", "fine_tune_blocks", "fine_tune_rate"}
)


def setting_applies(setting: str, model: str) -> bool:
    """Whether the training setting ``setting`` changes what ``model`` trains: every setting
    does, except those some other kind of model owns (``ModelSpec.settings``)."""
    owned = set().union(*(spec.settings for spec in MODELS.values()))
    return setting not in owned or setting in _spec(model).settings


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add ``spec`` to the registry (its name must be new); return it."""
    if spec.name in MODELS:
        raise ValueError(f"model {spec.name!r} is already registered")
    MODELS[spec.name] = spec
    return spec


register_model(
    ModelSpec(
        "minivggnet",
        "the tutorial's MiniVGGNet: two CONV 3x3/32 and two CONV 3x3/64 blocks with BatchNorm, "
        "max-pooling and dropout 0.25, then dense 512 with dropout 0.5 and softmax (its dense "
        "layer grows with the image area).",
        minivggnet,
    )
)
for _depth in (20, 56):
    register_model(
        ModelSpec(
            f"resnet{_depth}",
            f"He et al.'s CIFAR ResNet-{_depth}: a 3x3/16 stem, three stages of "
            f"{(_depth - 2) // 6} residual blocks (16, 32, 64 filters x width), global average "
            "pooling.",
            functools.partial(resnet, stem=16, stages=cifar_stages(_depth)),
            RESNET_SETTINGS,
        )
    )
register_model(
    ModelSpec(
        "resnet18",
        "a ResNet-18 for small images: a 3x3/64 stem, four stages of two residual blocks (64 "
        "to 512 filters x width), global average pooling; width 0.25 with a stride-2 stem and "
        "pre-activation is flowerdash's from-scratch net for photos.",
        functools.partial(resnet, stem=64, stages=RESNET18_STAGES),
        RESNET_SETTINGS,
    )
)


@dataclass(frozen=True)
class PretrainedSpec(ModelSpec):
    """EfficientNet-Lite0 with ImageNet weights (:mod:`flowerdash.pretrained.transfer`): any
    image size and channel count (resized to ``options.input_size`` inside the model), a new
    classifier; trained in two phases (:mod:`flowerdash.train.phases`)."""

    def outputs(self, x: Any, num_classes: int, options: ModelOptions) -> Any:
        from flowerdash.pretrained.transfer import transfer_outputs

        return transfer_outputs(x, num_classes, options.input_size)

    def cost(
        self, input_shape: tuple[int, ...], num_classes: int, options: ModelOptions
    ) -> ModelCost:
        from flowerdash.pretrained.efficientnet_lite import HEAD_FILTERS
        from flowerdash.pretrained.transfer import backbone_cost

        backbone = backbone_cost(options.input_size)
        head = HEAD_FILTERS * num_classes
        return ModelCost(
            backbone.params + head + num_classes,
            backbone.macs + head,
            backbone.activations + num_classes,
            max(backbone.largest_layer, head),
        )


register_model(
    PretrainedSpec(
        "efficientnet_lite0",
        "EfficientNet-Lite0 pretrained on ImageNet (Apache-2.0 weights from the TensorFlow TPU "
        "release, installed with the requirements: nothing is downloaded); images resized to "
        "the input size inside the model, a new classifier trained first on the frozen "
        "backbone, then the top blocks fine-tuned.",
        network=None,  # type: ignore[arg-type]  (outputs and cost are its own)
        settings=PRETRAINED_SETTINGS,
    )
)


def _spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; expected one of: {', '.join(MODELS)}")
    return MODELS[name]


def model_cost(
    name: str,
    input_shape: tuple[int, int, int],
    num_classes: int,
    options: ModelOptions | None = None,
) -> ModelCost:
    """The analytic :class:`ModelCost` of ``name`` (no Keras). Raises ConfigError when the
    images are too small for the model (see :func:`minimum_side`)."""
    options = options or ModelOptions()
    try:
        return _spec(name).cost(input_shape, num_classes, options)
    except TooSmall:
        side = minimum_side(name, options)
        raise ConfigError(
            f"images of {'x'.join(map(str, input_shape))} are too small for {name}: its "
            f"poolings and strides need at least {side}x{side} pixels"
        ) from None


def minimum_side(name: str, options: ModelOptions | None = None) -> int:
    """The smallest square image side ``name`` can take."""
    options = options or ModelOptions()
    side = 1
    while True:
        try:
            _spec(name).cost((side, side, 1), 2, options)
            return side
        except TooSmall:
            side *= 2


def machine_memory() -> int:
    """Bytes of physical memory on this machine (0 when unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def check_model_fits(
    name: str,
    input_shape: tuple[int, int, int],
    num_classes: int,
    *,
    batch_size: int,
    options: ModelOptions | None = None,
    memory: int | None = None,
) -> ModelCost:
    """Return the model's cost, or raise ConfigError (with the numbers) before anything is
    built: images too small for its poolings, fewer than two classes, or a training that would
    need more than :data:`MEMORY_SHARE` of ``memory`` (default: this machine's)."""
    if num_classes < 2:
        raise ConfigError(f"a classifier needs at least 2 classes, got {num_classes}")
    cost = model_cost(name, input_shape, num_classes, options)
    memory = machine_memory() if memory is None else memory
    needed = cost.training_bytes(batch_size)
    if memory and needed > MEMORY_SHARE * memory:
        raise ConfigError(
            f"{name} on {'x'.join(map(str, input_shape))} images is too big for this machine: "
            f"{_count(cost.params)} parameters (largest layer {_count(cost.largest_layer)}) and "
            f"{_count(cost.activations)} activation values per image need about "
            f"{needed / 2**30:.1f} GiB to train with batch size {batch_size}, over "
            f"{MEMORY_SHARE:.0%} of the {memory / 2**30:.1f} GiB of memory; use smaller images "
            "(flowerdash convert --size), a smaller batch or a model with global pooling"
        )
    return cost


def build_model(
    name: str,
    input_shape: tuple[int, int, int],
    num_classes: int,
    *,
    augmentation: keras.Layer | None = None,
    options: ModelOptions | None = None,
) -> keras.Model:
    """Return the uncompiled model ``name`` for images of ``input_shape`` (H, W, C).

    ``augmentation`` (see ``flowerdash.augment.build_augmentation``) is placed right after the
    input, named ``"augmentation"``: Keras runs it only in training, so every training mode
    augments the same way and the saved model still predicts on raw pixels. ``options`` shape
    the residual nets. Raises ConfigError for an unknown name, fewer than two classes or
    images too small for the model.
    """
    import keras
    from keras import layers

    spec = _spec(name)
    if num_classes < 2:
        raise ConfigError(f"a classifier needs at least 2 classes, got {num_classes}")
    options = options or ModelOptions()
    model_cost(name, input_shape, num_classes, options)  # refuses too-small images first
    inputs = keras.Input(shape=tuple(input_shape), name="pixels")
    x = inputs
    if augmentation is not None:
        x = augmentation(x)
    x = layers.Rescaling(1.0 / 255, name="rescale")(x)
    outputs = spec.outputs(x, num_classes, options)
    return keras.Model(inputs, outputs, name=name)
