"""What the pages share through ``st.session_state``: the chosen dataset, the augmentation
settings, and where things live on disk.

Every page reads and writes these through the functions here, never through raw session-state
keys, so the keys and defaults are defined once.

Folders (each overridable by an environment variable, which the tests use to keep the repo's
``data/`` and ``runs/`` and the user's cache untouched):

- ``repo_root()``: the checkout holding ``app.py``.
- ``data_dir()``: ``$FLOWERDASH_DATA_DIR``, else ``<repo>/data``. Typed paths must resolve
  inside it; the bundled dataset lives in it.
- ``uploads_dir()``: ``$FLOWERDASH_UPLOADS_DIR``, else ``<data_dir>/uploads``.
- ``runs_dir()``: ``$FLOWERDASH_RUNS_DIR``, else ``<repo>/runs``.
- The parsed-dataset cache is ``flowerdash.data``'s business (``$FLOWERDASH_CACHE_DIR``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

if TYPE_CHECKING:
    from flowerdash.augment import AugmentSettings

DATASET_KEY = "flowerdash.dataset"
AUGMENT_KEY = "flowerdash.augment_settings"

BUNDLED_TRAIN = "flowers_train.csv"
BUNDLED_TEST = "flowers_test.csv"
BUNDLED_NAME = "Flowers (bundled, 5 classes, 64x64 RGB)"


def repo_root() -> Path:
    """Return the folder holding ``app.py``."""
    return Path(__file__).resolve().parent.parent


def _env_path(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    """Return the data folder: typed dataset paths must resolve inside it."""
    return _env_path("FLOWERDASH_DATA_DIR", repo_root() / "data")


def uploads_dir() -> Path:
    """Return the folder uploaded CSVs are stored in (by content hash)."""
    return _env_path("FLOWERDASH_UPLOADS_DIR", data_dir() / "uploads")


def runs_dir() -> Path:
    """Return the folder training runs are written to (one sub-folder per run)."""
    return _env_path("FLOWERDASH_RUNS_DIR", repo_root() / "runs")


@dataclass(frozen=True)
class DatasetChoice:
    """The dataset the user works with.

    ``test_path`` is None when the user chose a single file (to inspect it, or to preview
    augmentations); pages that need a test set (training) must say so rather than guess.
    ``shape`` is ``(H, W, C)`` when the user set it because the file leaves it ambiguous,
    else None (the engine infers it).
    """

    train_path: Path
    test_path: Path | None
    shape: tuple[int, int, int] | None
    name: str

    @property
    def paths(self) -> list[Path]:
        """The train path, then the test path when there is one."""
        return [self.train_path] if self.test_path is None else [self.train_path, self.test_path]


def bundled_dataset() -> DatasetChoice:
    """Return the bundled flowers dataset (built by ``make data``)."""
    return DatasetChoice(
        train_path=data_dir() / BUNDLED_TRAIN,
        test_path=data_dir() / BUNDLED_TEST,
        shape=None,
        name=BUNDLED_NAME,
    )


def current_dataset() -> DatasetChoice:
    """Return the dataset chosen in this session; the bundled one until the user picks another."""
    choice = st.session_state.get(DATASET_KEY)
    return choice if isinstance(choice, DatasetChoice) else bundled_dataset()


def set_dataset(choice: DatasetChoice) -> None:
    """Make ``choice`` the dataset every page uses from now on in this session."""
    st.session_state[DATASET_KEY] = choice


def is_bundled(choice: DatasetChoice) -> bool:
    """Return whether ``choice`` is the bundled dataset."""
    return choice == bundled_dataset()


def current_augment_settings() -> AugmentSettings:
    """Return the augmentation settings chosen on the Augmentation page (tutorial defaults)."""
    from flowerdash.augment import AugmentSettings

    settings: Any = st.session_state.get(AUGMENT_KEY)
    return settings if isinstance(settings, AugmentSettings) else AugmentSettings()


def set_augment_settings(settings: AugmentSettings) -> None:
    """Keep ``settings`` for the Train page."""
    st.session_state[AUGMENT_KEY] = settings
