"""One architecture description, two readings: a Keras graph, or an analytic cost trace.

Each model in the registry is written once, as a function of a :class:`Network` (conv, batch
norm, relu, add, pooling, dense, ...). :class:`KerasNetwork` turns the calls into Keras layers;
:class:`CostNetwork` follows only shapes and counts parameters, multiply-accumulates (MACs) and
activation values, without importing Keras, so the pages and the size guard can show and check
a model's cost in microseconds. ``tests/test_models.py`` checks the two agree on every model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from flowerdash.errors import ConfigError


class TooSmall(ConfigError):
    """An image side is smaller than a stride or pooling of the model needs."""


class Network(Protocol):
    """The operations a model description may use; ``x`` is a tensor or a shape."""

    def conv(self, x: Any, filters: int, kernel: int, stride: int = 1, *, bias: bool = True) -> Any:
        """A 2-D convolution, padding ``same``."""

    def batch_norm(self, x: Any) -> Any:
        """Batch normalization over the channels."""

    def relu(self, x: Any) -> Any:
        """ReLU."""

    def add(self, a: Any, b: Any) -> Any:
        """Element-wise sum (a residual connection)."""

    def max_pool(self, x: Any, size: int) -> Any:
        """Max-pooling ``size`` x ``size``, stride ``size``, padding ``valid``."""

    def dropout(self, x: Any, rate: float) -> Any:
        """Dropout (training only)."""

    def flatten(self, x: Any) -> Any:
        """Flatten to a vector."""

    def global_pool(self, x: Any) -> Any:
        """Global average pooling."""

    def dense(self, x: Any, units: int, *, name: str | None = None) -> Any:
        """A fully connected layer with bias."""

    def softmax(self, x: Any) -> Any:
        """The output probabilities (named ``probabilities``)."""


class KerasNetwork:
    """:class:`Network` building Keras 3 layers (imports Keras)."""

    def __init__(self) -> None:
        from keras import layers

        self.layers = layers

    def conv(self, x: Any, filters: int, kernel: int, stride: int = 1, *, bias: bool = True) -> Any:
        # A convolution without bias feeds a BatchNorm (the residual nets): He-normal start.
        return self.layers.Conv2D(
            filters, kernel, strides=stride, padding="same", use_bias=bias,
            kernel_initializer="he_normal" if not bias else "glorot_uniform",
        )(x)  # fmt: skip

    def batch_norm(self, x: Any) -> Any:
        return self.layers.BatchNormalization()(x)

    def relu(self, x: Any) -> Any:
        return self.layers.Activation("relu")(x)

    def add(self, a: Any, b: Any) -> Any:
        return self.layers.Add()([a, b])

    def max_pool(self, x: Any, size: int) -> Any:
        return self.layers.MaxPooling2D(pool_size=size)(x)

    def dropout(self, x: Any, rate: float) -> Any:
        return self.layers.Dropout(rate)(x)

    def flatten(self, x: Any) -> Any:
        return self.layers.Flatten()(x)

    def global_pool(self, x: Any) -> Any:
        return self.layers.GlobalAveragePooling2D()(x)

    def dense(self, x: Any, units: int, *, name: str | None = None) -> Any:
        return self.layers.Dense(units, name=name)(x)

    def softmax(self, x: Any) -> Any:
        return self.layers.Activation("softmax", name="probabilities")(x)


@dataclass
class CostNetwork:
    """:class:`Network` over shapes ``(H, W, C)`` or ``(N,)``: counts, no Keras.

    ``params`` counts every weight (BatchNorm's moving statistics included, as Keras'
    ``count_params`` does), ``macs`` the multiply-accumulates of convolutions and dense layers
    for one image, ``activations`` the values every layer outputs for one image (what training
    keeps for the backward pass). Raises :class:`TooSmall` when a stride or pooling meets an
    image side smaller than itself.
    """

    params: int = 0
    macs: int = 0
    activations: int = 0
    largest_layer: int = 0

    def _out(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        self.activations += math.prod(shape)
        return shape

    @staticmethod
    def _check(x: tuple[int, ...], step: int, what: str) -> None:
        if x[0] < step or x[1] < step:
            raise TooSmall(f"a {what} of stride {step} met a {x[0]}x{x[1]} feature map")

    def conv(self, x: Any, filters: int, kernel: int, stride: int = 1, *, bias: bool = True) -> Any:
        self._check(x, stride, "convolution")
        h, w = -(-x[0] // stride), -(-x[1] // stride)
        weights = kernel * kernel * x[2] * filters + (filters if bias else 0)
        self.params += weights
        self.largest_layer = max(self.largest_layer, weights)
        self.macs += h * w * kernel * kernel * x[2] * filters
        return self._out((h, w, filters))

    def batch_norm(self, x: Any) -> Any:
        self.params += 4 * x[-1]
        return self._out(x)

    def relu(self, x: Any) -> Any:
        return self._out(x)

    def add(self, a: Any, b: Any) -> Any:
        if a != b:
            raise ValueError(f"cannot add shapes {a} and {b}")
        return self._out(a)

    def max_pool(self, x: Any, size: int) -> Any:
        self._check(x, size, "pooling")
        return self._out((x[0] // size, x[1] // size, x[2]))

    def dropout(self, x: Any, rate: float) -> Any:
        return x

    def flatten(self, x: Any) -> Any:
        return (math.prod(x),)

    def global_pool(self, x: Any) -> Any:
        return self._out((x[-1],))

    def dense(self, x: Any, units: int, *, name: str | None = None) -> Any:
        weights = x[0] * units + units
        self.params += weights
        self.largest_layer = max(self.largest_layer, weights)
        self.macs += x[0] * units
        return self._out((units,))

    def softmax(self, x: Any) -> Any:
        return self._out(x)
