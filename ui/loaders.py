"""Cached reads for the pages: datasets keyed on (path, size, mtime), Keras imported once, a
run's model and test images (shared by the Results and Predict pages and the saliency views).

A dataset is cached with ``st.cache_resource`` (one shared, read-only object per file version:
``st.cache_data`` would copy its image array on every rerun); the key includes the file's size
and modification time, so a changed file is read again. Small derived results (leak check,
previews) use ``st.cache_data``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import streamlit as st

from flowerdash.data_checks import LeakCheck, find_leaked_rows

if TYPE_CHECKING:
    from flowerdash.augment import AugmentSettings
    from flowerdash.data import ImageDataset
    from flowerdash.run_records import RunConfig

Shape = tuple[int, int, int]
KERAS_SPINNER = "Loading Keras (first time only, ~6 s)..."


def file_signature(path: Path) -> tuple[str, int, int]:
    """Return ``(resolved path, size, mtime_ns)``: the cache key of a file's current version."""
    resolved = path.resolve()
    stat = os.stat(resolved)
    return str(resolved), stat.st_size, stat.st_mtime_ns


@dataclass(frozen=True)
class LoadedDataset:
    """A dataset and how it was read this session (for the cache status)."""

    dataset: ImageDataset
    seconds: float
    signature: tuple[str, int, int]


@st.cache_resource(max_entries=8, show_spinner=False)
def _load(path: str, size: int, mtime_ns: int, shape: Shape | None) -> LoadedDataset:
    from flowerdash.data import load_dataset

    started = time.perf_counter()
    dataset = load_dataset(path, shape)
    return LoadedDataset(dataset, time.perf_counter() - started, (path, size, mtime_ns))


def load_dataset_cached(path: Path, shape: Shape | None = None) -> LoadedDataset:
    """Return the dataset at ``path`` (parsed once per file version and shape).

    Raises DatasetError (from the engine) for a missing or bad file.
    """
    from flowerdash.errors import DatasetError

    try:
        signature = file_signature(path)
    except FileNotFoundError:
        raise DatasetError("no such file", path=path) from None
    with st.spinner(f"Reading {path.name}..."):
        return _load(*signature, shape)


@st.cache_data(max_entries=16, show_spinner=False)
def _leak_check(
    train_signature: tuple[str, int, int],
    test_signature: tuple[str, int, int],
    shape: Shape | None,
) -> LeakCheck:
    train = _load(*train_signature, shape).dataset
    test = _load(*test_signature, shape).dataset
    return find_leaked_rows(train.images, test.images)


def leak_check_cached(train: LoadedDataset, test: LoadedDataset, shape: Shape | None) -> LeakCheck:
    """Return the leak check of ``test`` against ``train`` (computed once per file pair)."""
    return _leak_check(train.signature, test.signature, shape)


@st.cache_resource(show_spinner=KERAS_SPINNER)
def keras_module() -> ModuleType:
    """Import Keras once per server process (about 6 s and 650 MB the first time)."""
    import keras

    return keras


@st.cache_data(max_entries=64, show_spinner=False)
def _variants(
    image: np.ndarray, settings_items: tuple[tuple[str, object], ...], n: int, seed: int
) -> np.ndarray:
    from flowerdash.augment import AugmentSettings, preview_augmentations

    settings = AugmentSettings.from_dict(dict(settings_items))
    return preview_augmentations(image, settings, n=n, seed=seed)


def augmented_variants(
    image: np.ndarray, settings: AugmentSettings, n: int, seed: int
) -> np.ndarray:
    """Return ``n`` variants of ``image`` made by the training augmentation block (cached)."""
    keras_module()
    return _variants(image, tuple(sorted(settings.to_dict().items())), n, seed)


@st.cache_data(max_entries=16, show_spinner=False)
def _batch(
    images: np.ndarray, settings_items: tuple[tuple[str, object], ...], seed: int
) -> np.ndarray:
    from flowerdash.augment import AugmentSettings, augment_batch

    return augment_batch(images, AugmentSettings.from_dict(dict(settings_items)), seed)


def augmented_batch(images: np.ndarray, settings: AugmentSettings, seed: int) -> np.ndarray:
    """Return the batch ``images`` as the training augmentation block outputs it (cached)."""
    keras_module()
    return _batch(images, tuple(sorted(settings.to_dict().items())), seed)


def test_images(config: RunConfig) -> np.ndarray:
    """Return a run's test images (N, H, W, C) uint8, read once per file version.

    Raises DatasetError when the test file is gone or no longer reads.
    """
    return load_dataset_cached(config.test.path, config.shape).dataset.images


@st.cache_resource(max_entries=2, show_spinner=False)
def _model(run_dir: str, model_mtime_ns: int) -> Any:
    from flowerdash import predict

    return predict.load_run_model(run_dir)


def run_model(run_dir: Path) -> Any:
    """Return the run's Keras model (safe mode), loaded once per model file version.

    Raises RunError when Keras cannot load the file (damaged, or from an incompatible version).
    """
    from flowerdash import runs
    from flowerdash.errors import FlowerdashError, RunError

    mtime_ns = os.stat(run_dir / runs.MODEL).st_mtime_ns
    with st.spinner(f"Loading the model of {run_dir.name}. {KERAS_SPINNER}"):
        try:
            return _model(str(run_dir), mtime_ns)
        except FlowerdashError:
            raise
        except Exception as error:  # Keras raises many kinds for a file it cannot read
            raise RunError(
                f"{run_dir / runs.MODEL}: Keras could not load the model "
                f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})"
            ) from error
