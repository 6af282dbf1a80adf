"""The architectures, each written once against :class:`~flowerdash.models.network.Network`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowerdash.models.network import Network
from flowerdash.pretrained.transfer import PRETRAINED_INPUT_SIZE


@dataclass(frozen=True)
class ModelOptions:
    """Shape options of the residual nets (MiniVGGNet, the tutorial's, ignores them) and the
    pretrained model.

    ``width`` multiplies every stage's filter count; ``stem_stride`` 2 halves the image in the
    first convolution (a quarter of the cost, for images of 48 pixels and more);
    ``preactivation`` uses He et al.'s 2016 block order (BatchNorm, ReLU, convolution);
    ``input_size`` is the side the pretrained model resizes images to.
    """

    width: float = 1.0
    stem_stride: int = 1
    preactivation: bool = False
    input_size: int = PRETRAINED_INPUT_SIZE


def minivggnet(net: Network, x: Any, num_classes: int, options: ModelOptions) -> Any:
    """The tutorial's MiniVGGNet: (CONV-RELU-BN) x2, POOL, DROPOUT, twice; FC 512; softmax."""
    for filters in (32, 64):
        for _ in range(2):
            x = net.batch_norm(net.relu(net.conv(x, filters, 3)))
        x = net.dropout(net.max_pool(x, 2), 0.25)
    x = net.batch_norm(net.relu(net.dense(net.flatten(x), 512)))
    x = net.dropout(x, 0.5)
    return net.softmax(net.dense(x, num_classes))


def _filters(base: int, width: float) -> int:
    return max(4, round(base * width))


def x_channels(x: Any) -> int:
    """Channels of a Keras tensor or of a shape tuple."""
    shape = getattr(x, "shape", x)
    return int(shape[-1])


def _basic_block(net: Network, x: Any, filters: int, stride: int, options: ModelOptions) -> Any:
    """Two 3x3 convolutions and a shortcut (a 1x1 projection when the shape changes)."""
    project = stride != 1 or x_channels(x) != filters
    if options.preactivation:
        h = net.relu(net.batch_norm(x))
        shortcut = net.conv(h, filters, 1, stride, bias=False) if project else x
        y = net.conv(h, filters, 3, stride, bias=False)
        y = net.conv(net.relu(net.batch_norm(y)), filters, 3, bias=False)
        return net.add(y, shortcut)
    shortcut = net.batch_norm(net.conv(x, filters, 1, stride, bias=False)) if project else x
    y = net.relu(net.batch_norm(net.conv(x, filters, 3, stride, bias=False)))
    y = net.batch_norm(net.conv(y, filters, 3, bias=False))
    return net.relu(net.add(y, shortcut))


def resnet(
    net: Network,
    x: Any,
    num_classes: int,
    options: ModelOptions,
    *,
    stem: int,
    stages: tuple[tuple[int, int], ...],
) -> Any:
    """A residual net: a 3x3 stem, ``stages`` of (blocks, filters), global average pooling."""
    x = net.conv(x, _filters(stem, options.width), 3, options.stem_stride, bias=False)
    if not options.preactivation:
        x = net.relu(net.batch_norm(x))
    for index, (blocks, filters) in enumerate(stages):
        for block in range(blocks):
            stride = 2 if index > 0 and block == 0 else 1
            x = _basic_block(net, x, _filters(filters, options.width), stride, options)
    if options.preactivation:
        x = net.relu(net.batch_norm(x))
    return net.softmax(net.dense(net.global_pool(x), num_classes))


def cifar_stages(depth: int) -> tuple[tuple[int, int], ...]:
    """He et al.'s CIFAR layout: 3 stages of (depth - 2) / 6 blocks, 16, 32 and 64 filters."""
    blocks = (depth - 2) // 6
    return ((blocks, 16), (blocks, 32), (blocks, 64))


#: ResNet-18's four stages (two blocks each, 64 to 512 filters), its 7x7 stem and max-pool
#: replaced by one 3x3 convolution as for small images.
RESNET18_STAGES = ((2, 64), (2, 128), (2, 256), (2, 512))
