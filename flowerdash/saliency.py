"""Saliency maps: class activation maps (Grad-CAM family) for any registered model.

Both methods take the last convolutional block's output A and the gradient G of the class
score with respect to it, sum over channels, keep the positive part and scale the map to the
image. ``gradcam`` (Selvaraju et al., keras-io's example) weighs each channel by G's spatial
mean; ``hirescam`` (Draelos & Carin, 2020; the default) multiplies A by G cell by cell. They
agree for heads that average the map (global pooling); for a ``Flatten`` + ``Dense`` head such
as MiniVGGNet's, each cell has its own weights and the channel mean can cancel the evidence
out: on the corner-patch test model Grad-CAM's map was empty, HiResCAM's lay on the patch.

The block is found by shape, not by name: the last layer whose output is a feature map (rank
4, more than one spatial cell) after the model's first layer with weights (trainable or
frozen). A nested model used as one layer (the pretrained ``backbone``) whose own output is
pooled is looked into: its last feature map counts in its place, and the maps are computed
through it (the model is split around that layer into Keras sub-models, so the gradient is
taken with respect to the inner block's output).

The class score is the logit when the head is a ``Dense`` softmax layer (gradients of a
saturated probability vanish), else the log-probability.

Gradients need a backend's autodiff: this module uses TensorFlow's ``GradientTape`` (the
pinned backend; the rest is ``keras.ops``) and raises ConfigError on another Keras backend.
Keras is imported inside the functions only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from flowerdash.errors import ConfigError

if TYPE_CHECKING:
    import keras

SALIENCY_BATCH_SIZE = 32
METHODS = ("hirescam", "gradcam")


def feature_map_layer(model: keras.Model) -> keras.Layer:
    """The layer whose output the saliency maps explain: the model's last feature map, inside
    a nested model when that model ends in its own pooling.

    Raises ConfigError when the model has no rank-4 output after a layer with weights.
    """
    return feature_map_path(model)[-1]


def feature_map_path(
    model: keras.Model, layer: keras.Layer | None = None
) -> tuple[keras.Layer, ...]:
    """The layers from ``model``'s own down to its feature map ``layer`` (default: see
    :func:`feature_map_layer`): ``(layer,)`` for a layer of the model itself, ``(backbone,
    layer)`` for one inside a nested model ``backbone``, and so on.

    Raises ConfigError when there is no feature map, or ``layer`` is not in the model.
    """
    if layer is not None:
        found = next((path for path in _layer_paths(model) if path[-1] is layer), None)
        if found is None:
            raise ConfigError(f"layer {layer.name!r} is not part of model {model.name!r}")
        return found
    candidates = _candidate_paths(model, top=True)
    spatial = [path for path in candidates if _cells(path[-1]) > 1]
    if spatial or candidates:
        return (spatial or candidates)[-1]
    raise ConfigError(
        f"model {model.name!r} has no convolutional feature map (a layer with a rank-4 output "
        "after its first weights); saliency maps need one"
    )


def _is_nested(layer: keras.Layer) -> bool:
    """Whether ``layer`` is a model of its own (a graph to look into)."""
    import keras

    return isinstance(layer, keras.Model) and hasattr(layer, "inputs")


def _layer_paths(model: keras.Model) -> list[tuple[keras.Layer, ...]]:
    """Every layer of ``model`` and of its nested models, as paths, in graph order."""
    paths = []
    for layer in model.layers:
        paths.append((layer,))
        if _is_nested(layer):
            paths += [(layer, *inner) for inner in _layer_paths(layer)]
    return paths


def _candidate_paths(model: keras.Model, *, top: bool) -> list[tuple[keras.Layer, ...]]:
    """Paths to the rank-4 outputs after ``model``'s first layer with weights (trainable or
    frozen), in graph order; a nested model whose own output is not a feature map (it pools)
    is replaced by its candidates. The top model's last layer (its head) is left out."""
    layers = list(model.layers)
    first_weighted = next((i for i, layer in enumerate(layers) if layer.weights), len(layers))
    paths: list[tuple[keras.Layer, ...]] = []
    for layer in layers[first_weighted : len(layers) - 1 if top else len(layers)]:
        if len(layer.output.shape) == 4:
            paths.append((layer,))
        elif _is_nested(layer):
            paths += [(layer, *inner) for inner in _candidate_paths(layer, top=False)]
    return paths


def _cells(layer: keras.Layer) -> int:
    height, width = layer.output.shape[1:3]
    return int(height or 1) * int(width or 1)


def _only_call(layer: keras.Layer):
    """The one node where nested ``layer`` is called in its parent's graph."""
    nodes = layer._inbound_nodes  # Keras 3 has no public accessor for a nested model's call
    if len(nodes) != 1 or len(nodes[0].input_tensors) != 1 or len(nodes[0].output_tensors) != 1:
        raise ConfigError(
            f"saliency maps need the nested model {layer.name!r} called once, on one input "
            "with one output"
        )
    return nodes[0]


def _features_model(
    model: keras.Model, path: Sequence[keras.Layer], until: keras.KerasTensor
) -> keras.Model:
    """A model from ``model``'s inputs to ``[features, until]``: the output of ``path[-1]``
    (reached through the nested models of ``path``) and the tensor ``until`` of ``model``'s
    graph, computed from those features."""
    import keras

    outer = path[0]
    if len(path) == 1:  # a nested model's own ``output`` is a tensor of its inner graph
        features = _only_call(outer).output_tensors[0] if _is_nested(outer) else outer.output
        return keras.Model(model.inputs, [features, until])
    node = _only_call(outer)
    inner = _features_model(outer, path[1:], outer.outputs[0])
    before = keras.Model(model.inputs, node.input_tensors[0])
    after = keras.Model(node.output_tensors[0], until)
    features, nested_output = inner(before(model.inputs))
    return keras.Model(model.inputs, [features, after(nested_output)])


def _class_scores(model: keras.Model, features_model: keras.Model, images: np.ndarray):
    """(features, scores) where scores are logits when the head allows it, else log-probs."""
    import keras

    features, head_input = features_model(images, training=False)
    head = model.layers[-1]
    if isinstance(head, keras.layers.Dense) and head.activation is keras.activations.softmax:
        logits = keras.ops.matmul(head_input, head.kernel)
        if head.use_bias:
            logits = logits + head.bias
        return features, logits
    return features, keras.ops.log(keras.ops.maximum(head(head_input), 1e-12))


def saliency_maps(
    model: keras.Model,
    images: np.ndarray,
    class_indices: Sequence[int] | np.ndarray,
    *,
    method: str = "hirescam",
    layer: keras.Layer | None = None,
    batch_size: int = SALIENCY_BATCH_SIZE,
) -> np.ndarray:
    """Class activation maps ``(N, H, W)`` in 0..1 for ``images`` ``(N, H, W, C)`` (raw pixels).

    ``class_indices`` gives, per image, the class whose evidence is mapped (the predicted one,
    or the true one); ``method`` is one of ``METHODS``; ``layer`` (of the model or of a model
    nested in it) defaults to :func:`feature_map_layer`. A map that is zero everywhere means no
    positive evidence for that class. Raises ConfigError for an unknown method or a Keras
    backend other than TensorFlow.
    """
    import keras

    if method not in METHODS:
        raise ConfigError(
            f"unknown saliency method {method!r}; expected one of: {', '.join(METHODS)}"
        )

    if keras.backend.backend() != "tensorflow":
        raise ConfigError(
            f"saliency maps need gradients through TensorFlow; the Keras backend is "
            f"{keras.backend.backend()!r}"
        )
    import tensorflow as tf

    images = np.asarray(images, dtype=np.float32)
    class_indices = np.asarray(class_indices, dtype=np.int64).reshape(-1)
    if len(class_indices) != len(images):
        raise ConfigError(f"{len(class_indices)} class indices for {len(images)} images")
    height, width = images.shape[1:3]
    if len(images) == 0:
        return np.zeros((0, height, width), dtype=np.float32)
    path = feature_map_path(model, layer)
    features_model = _features_model(model, path, model.layers[-1].input)
    ops = keras.ops
    maps = []
    for start in range(0, len(images), batch_size):
        batch = tf.constant(images[start : start + batch_size])
        chosen = ops.convert_to_tensor(class_indices[start : start + batch_size, None])
        with tf.GradientTape() as tape:
            features, scores = _class_scores(model, features_model, batch)
            score = ops.sum(ops.take_along_axis(scores, chosen, axis=1))
        gradients = tape.gradient(score, features)
        weights = (
            ops.mean(gradients, axis=(1, 2), keepdims=True) if method == "gradcam" else gradients
        )
        cam = ops.relu(ops.sum(weights * features, axis=-1, keepdims=True))
        cam = ops.image.resize(cam, (height, width), interpolation="bilinear")[..., 0]
        maps.append(ops.convert_to_numpy(cam))
    cams = np.concatenate(maps).astype(np.float32)
    peaks = cams.reshape(len(cams), -1).max(axis=1)
    scale = np.where(peaks > 0, peaks, 1.0)[:, None, None]
    return np.clip(cams / scale, 0.0, 1.0)
