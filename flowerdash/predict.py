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


#: Largest ``config.json`` inside a ``.keras`` archive worth reading (a model's is kilobytes).
MAX_MODEL_CONFIG_BYTES = 16 << 20
_TRUSTED_MODULES = ("keras", "flowerdash")
_DAMAGED = "damaged (an interrupted save or copy?); expected the .keras archive training saves"


def load_run_model(run_dir: str | os.PathLike[str]) -> keras.Model:
    """Load ``model.keras`` of a run with Keras' safe mode on.

    Raises RunError when it is missing, damaged (empty, truncated, not a .keras archive), or
    holds a layer safe mode refuses (a Lambda, a TFSMLayer, code from another module): the
    message names the layer and why.
    """
    path = Path(run_dir) / runs.MODEL
    if not path.is_file():
        raise RunError(f"{path}: no saved model (the run has not ended, or is not a run)")
    check_model_file(path)
    import keras

    import flowerdash.augment_layer  # noqa: F401 - registers RandomAffine for deserialization

    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises ValueError, TypeError, KeyError, OSError...
        detail = str(error).strip().split("\n")[0][:300]
        if "safe_mode" in detail:
            raise RunError(f"{path}: refused by Keras' safe mode: {detail}") from None
        raise RunError(f"{path}: {_DAMAGED} (Keras: {type(error).__name__}: {detail})") from None


def check_model_file(path: str | os.PathLike[str]) -> None:
    """Refuse a ``.keras`` file that is damaged, or whose config names a layer safe mode would
    refuse, without loading Keras. Raises RunError saying which layer and why."""
    import json
    import zipfile

    where = Path(path)
    try:
        size = where.stat().st_size
        if size == 0:
            raise RunError(f"{where}: is empty (0 bytes): {_DAMAGED}")
        if not zipfile.is_zipfile(where):
            raise RunError(f"{where}: is not a .keras (zip) archive: {_DAMAGED}")
        with zipfile.ZipFile(where) as archive:
            try:
                info = archive.getinfo("config.json")
            except KeyError:
                raise RunError(f"{where}: holds no config.json: {_DAMAGED}") from None
            if info.file_size > MAX_MODEL_CONFIG_BYTES:
                raise RunError(f"{where}: its config.json is {info.file_size} bytes: {_DAMAGED}")
            config = json.loads(archive.read(info))
    except RunError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise RunError(f"{where}: cannot be read ({error}): {_DAMAGED}") from None
    problem = _unsafe_layer(config)
    if problem:
        raise RunError(
            f"{where}: refused to load: {problem}; Keras' safe mode does not load such layers "
            "(only models saved by flowerdash training load)"
        )


def _unsafe_layer(config: Any, layer: str | None = None) -> str | None:
    """Describe the first part of a Keras config that would run code from the file or from
    outside it, naming its layer; None when there is none."""
    if isinstance(config, list):
        for item in config:
            found = _unsafe_layer(item, layer)
            if found:
                return found
        return None
    if not isinstance(config, dict):
        return None
    inner = config.get("config")
    name = config.get("name") or (inner.get("name") if isinstance(inner, dict) else None)
    if "class_name" in config and isinstance(name, str):
        layer = name
    where = f"layer {layer!r}" if layer else "the model"
    kind = config.get("class_name")
    if kind == "Lambda":
        return f"{where} is a Lambda layer (it runs Python code stored in the file)"
    if kind == "TFSMLayer":
        return f"{where} is a TFSMLayer (it loads a TensorFlow SavedModel from outside the file)"
    if kind == "__lambda__" or config.get("__lambda__"):
        return f"{where} holds a Python lambda (code stored in the file)"
    module = config.get("module")
    if isinstance(module, str) and module.split(".")[0] not in _TRUSTED_MODULES and kind:
        return f"{where} names code from module {module!r} ({kind!r}), not from Keras"
    for value in config.values():
        found = _unsafe_layer(value, layer)
        if found:
            return found
    return None


def read_image(path: str | os.PathLike[str] | BinaryIO, shape: Sequence[int]) -> np.ndarray:
    """Read a PNG/JPEG/... as uint8 ``shape`` (H, W, C): converted to RGB or grayscale, resized.

    ``path`` may also be an open binary file (e.g. an upload). Raises DatasetError for a file
    that is not a regular file, not an image, damaged, or larger than PIL's
    ``Image.MAX_IMAGE_PIXELS`` (89 megapixels: a decompression bomb, a small file declaring a
    huge image, is refused rather than warned about).
    """
    import warnings

    from PIL import Image

    from flowerdash.data.csv_format import regular_file_stat

    name = str(getattr(path, "name", None) or path) if not isinstance(path, str) else path
    if isinstance(path, str | os.PathLike):
        regular_file_stat(path)
    height, width, channels = (int(v) for v in shape)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                mode = "L" if channels == 1 else "RGB"
                converted = image.convert(mode)
                if converted.size != (width, height):
                    converted = converted.resize((width, height), Image.Resampling.BILINEAR)
                array = np.asarray(converted, dtype=np.uint8)
    except FileNotFoundError:
        raise DatasetError("file not found", path=name) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise DatasetError(
            f"refused as a decompression bomb: {error} Expected a photo: resize it first",
            path=name,
        ) from None
    except Exception as error:  # PIL raises OSError, SyntaxError, ValueError... for bad data
        raise DatasetError(
            f"not a readable image ({error}); expected a PNG, JPEG, BMP, GIF or WebP file",
            path=name,
        ) from None
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
    from flowerdash.data_checks import check_same_shape

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
        check_same_shape(name, dataset.images.shape[1:], shape, against="the model's input")
        images.append(np.asarray(dataset.images))
        names.extend(f"{name}:{row + 1}" for row in range(len(dataset.images)))
        labels.extend(str(label) for label in dataset.labels)
    if not images:
        raise DatasetError("no input files given")
    return Inputs(np.concatenate(images), names, labels)


def read_uploads(uploads: Sequence[BinaryIO], shape: Sequence[int]) -> Inputs:
    """Images uploaded as open binary files (each with a ``name``), resized to ``shape``.

    Raises DatasetError naming an upload that is not a readable image.
    """
    images = []
    names = [getattr(upload, "name", f"image {i + 1}") for i, upload in enumerate(uploads)]
    for upload, name in zip(uploads, names, strict=True):
        try:
            images.append(read_image(upload, shape))
        except (DatasetError, TypeError, ValueError):
            raise DatasetError("not a readable PNG or JPEG image", path=name) from None
    if not images:
        raise DatasetError("no images uploaded")
    return Inputs(np.stack(images), names, [None] * len(images))


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
    inputs = read_inputs(paths, config.shape)
    probabilities = predict_probabilities(model, inputs.images)
    return [
        {"name": name, "label": label, "top": top}
        for name, label, top in zip(
            inputs.names, inputs.labels, top_k(probabilities, config.classes, k), strict=True
        )
    ]
