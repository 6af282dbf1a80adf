"""Predicting with a trained run: load its model safely, read images or CSV rows, top-k classes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from flowerdash import runs
from flowerdash.errors import DatasetError, RunError

if TYPE_CHECKING:
    import keras

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"})


def load_run_model(run_dir: str | os.PathLike[str]) -> keras.Model:
    """Load ``model.keras`` of a run with Keras' safe mode on. Raises RunError if missing."""
    import keras

    import flowerdash.augment_layer  # noqa: F401 - registers RandomAffine for deserialization

    path = Path(run_dir) / runs.MODEL
    if not path.is_file():
        raise RunError(f"{path}: no saved model (the run has not ended, or is not a run)")
    return keras.saving.load_model(path, safe_mode=True, compile=False)


def read_image(path: str | os.PathLike[str] | BinaryIO, shape: Sequence[int]) -> np.ndarray:
    """Read a PNG/JPEG/... as uint8 ``shape`` (H, W, C): converted to RGB or grayscale, resized.

    ``path`` may also be an open binary file (e.g. an upload). Raises DatasetError for a file
    that is not an image.
    """
    from PIL import Image, UnidentifiedImageError

    name = str(getattr(path, "name", None) or path) if not isinstance(path, str) else path
    height, width, channels = (int(v) for v in shape)
    try:
        with Image.open(path) as image:
            mode = "L" if channels == 1 else "RGB"
            converted = image.convert(mode)
            if converted.size != (width, height):
                converted = converted.resize((width, height), Image.Resampling.BILINEAR)
            array = np.asarray(converted, dtype=np.uint8)
    except FileNotFoundError:
        raise DatasetError("file not found", path=name) from None
    except (UnidentifiedImageError, OSError) as error:
        raise DatasetError(f"not a readable image ({error})", path=name) from None
    return array.reshape(height, width, channels)


@dataclass(frozen=True)
class Inputs:
    """Images to predict, a name for each (``file`` or ``file:row``) and known labels."""

    images: np.ndarray
    names: list[str]
    labels: list[str | None]


def read_inputs(paths: Sequence[str | os.PathLike[str]], shape: Sequence[int]) -> Inputs:
    """Read image files (resized to ``shape``) and CSV files (every row, of ``shape``)."""
    from flowerdash.data import load_dataset

    images: list[np.ndarray] = []
    names: list[str] = []
    labels: list[str | None] = []
    for path in paths:
        name = os.fspath(path)
        if Path(name).suffix.lower() in IMAGE_SUFFIXES:
            images.append(read_image(name, shape)[None])
            names.append(name)
            labels.append(None)
            continue
        dataset = load_dataset(name, tuple(int(v) for v in shape))
        if tuple(dataset.images.shape[1:]) != tuple(shape):
            raise DatasetError(
                f"images are {'x'.join(map(str, dataset.images.shape[1:]))}, "
                f"the model expects {'x'.join(map(str, shape))}",
                path=name,
            )
        images.append(np.asarray(dataset.images))
        names.extend(f"{name}:{row + 1}" for row in range(len(dataset.images)))
        labels.extend(str(label) for label in dataset.labels)
    if not images:
        raise DatasetError("no input files given")
    return Inputs(np.concatenate(images), names, labels)


def top_k(
    probabilities: np.ndarray, classes: Sequence[str], k: int = 3
) -> list[list[tuple[str, float]]]:
    """For each row of probabilities, the ``k`` most likely classes with their probability."""
    k = max(1, min(k, len(classes)))
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return [
        [(str(classes[i]), float(row[i])) for i in best]
        for row, best in zip(probabilities, order, strict=True)
    ]


def predict_files(
    run_dir: str | os.PathLike[str], paths: Sequence[str | os.PathLike[str]], k: int = 3
) -> list[dict[str, Any]]:
    """Predict every image in ``paths`` with the run's model.

    Returns one ``{"name", "label", "top": [(class, probability), ...]}`` per image.
    """
    from flowerdash.evaluate import predict_probabilities

    config = runs.read_config(run_dir)
    model = load_run_model(run_dir)
    inputs = read_inputs(paths, config["shape"])
    probabilities = predict_probabilities(model, inputs.images)
    return [
        {"name": name, "label": label, "top": top}
        for name, label, top in zip(
            inputs.names, inputs.labels, top_k(probabilities, config["classes"], k), strict=True
        )
    ]
