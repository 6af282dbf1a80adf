"""What the pages share through ``st.session_state``: the chosen dataset, the augmentation
settings, and where things live on disk.

Every page reads and writes these through the functions here, never through raw session-state
keys, so the keys and defaults are defined once. Every session key more than one module uses is
defined here (a page module never imports another's keys); a key only one module uses (its own
widgets and notices, prefixed with its page's name) stays in that module.

Folders (each overridable by an environment variable, which the tests use to keep the repo's
``data/`` and ``runs/`` and the user's cache untouched):

- ``repo_root()``: the checkout holding ``app.py``.
- ``data_dir()``: ``$FLOWERDASH_DATA_DIR``, else ``<repo>/data``. Typed paths must resolve
  inside it; the bundled dataset lives in it.
- ``uploads_dir()``: ``$FLOWERDASH_UPLOADS_DIR``, else ``<data_dir>/uploads``.
- ``runs_dir()``: ``flowerdash.runs.default_runs_dir()``: ``$FLOWERDASH_RUNS_DIR``, else
  ``runs/`` in the working folder (the repo when started with ``make run``), as for the CLI.
- The parsed-dataset cache is ``flowerdash.data``'s business (``$FLOWERDASH_CACHE_DIR``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from flowerdash.data.csv_format import format_shape

if TYPE_CHECKING:
    from flowerdash.augment import AugmentSettings

DATASET_KEY = "flowerdash.dataset"
AUGMENT_KEY = "flowerdash.augment_settings"
#: The run the Train page shows when none is active: set by its Start and the Runs page's Open.
TRAIN_RUN_KEY = "flowerdash.train.shown_run"
#: The run chosen on the Results and Predict pages (one choice for both).
CHOSEN_RUN_KEY = "flowerdash.chosen_run"
#: The "Loss on a log scale" toggle, one value for the Train and Results pages' curves.
LOG_LOSS_KEY = "flowerdash.log_loss"

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
    """Return the folder training runs are written to (one sub-folder per run): the library's
    one default (``flowerdash.runs.default_runs_dir``), so the CLI started from the same folder
    sees the same runs."""
    from flowerdash.runs import default_runs_dir

    return default_runs_dir()


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
    """Make ``choice`` the dataset every page uses from now on in this session (and name it in
    the page's URL)."""
    st.session_state[DATASET_KEY] = choice
    _show_in_url(choice)


DATASET_QUERY_KEYS = ("train", "test", "shape")


def dataset_query(choice: DatasetChoice) -> dict[str, str]:
    """The URL query parameters naming ``choice``: paths relative to the data folder.

    Empty for the bundled dataset (the default needs no parameters) and for files outside the
    data folder, which a URL cannot name.
    """
    if is_bundled(choice):
        return {}
    root = data_dir().resolve()
    try:
        query = {"train": choice.train_path.resolve().relative_to(root).as_posix()}
        if choice.test_path is not None:
            query["test"] = choice.test_path.resolve().relative_to(root).as_posix()
    except ValueError:
        return {}
    if choice.shape is not None:
        query["shape"] = format_shape(choice.shape)
    return query


def dataset_from_query(query: dict[str, str]) -> DatasetChoice | None:
    """The dataset a URL's query parameters name, or None when they name none or a file that is
    missing or outside the data folder (the same check as a typed path)."""
    from flowerdash.errors import FlowerdashError

    try:
        return read_dataset_query(query)
    except FlowerdashError:
        return None


def read_dataset_query(query: dict[str, str]) -> DatasetChoice | None:
    """The dataset a URL's query parameters name (None without ``train``); raises
    FlowerdashError saying why a named file cannot be opened."""
    from flowerdash.data import parse_shape
    from flowerdash.dataset_files import resolve_data_path

    if "train" not in query:
        return None
    train = resolve_data_path(query["train"], data_dir())
    test = resolve_data_path(query["test"], data_dir()) if query.get("test") else None
    shape = parse_shape(query.get("shape"))
    name = train.name + (f" + {test.name}" if test else "")
    if train.is_relative_to(uploads_dir().resolve()):
        name = f"Upload: {name}"
    return DatasetChoice(train, test, shape, name)


def sync_dataset_with_url() -> None:
    """Keep the chosen dataset in the page's URL, so that a reload (a new session) or a shared
    link opens the same dataset. Call once per page run, before the dataset is read."""
    from flowerdash.errors import FlowerdashError
    from ui.errors import show_error

    chosen = st.session_state.get(DATASET_KEY)
    if not isinstance(chosen, DatasetChoice):
        current = {k: st.query_params[k] for k in DATASET_QUERY_KEYS if k in st.query_params}
        try:
            chosen = read_dataset_query(current)
        except FlowerdashError as error:  # shown once: the address is then reset to the default
            show_error(error, context="The dataset in the page's address was not opened")
            chosen = None
        if chosen is not None:
            st.session_state[DATASET_KEY] = chosen
    _show_in_url(chosen if isinstance(chosen, DatasetChoice) else bundled_dataset())


def _show_in_url(choice: DatasetChoice) -> None:
    wanted = dataset_query(choice)
    for key in DATASET_QUERY_KEYS:
        if key in st.query_params and key not in wanted:
            del st.query_params[key]
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


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


def train_run() -> Path | None:
    """Return the run last started on the Train page or opened from the Runs page, if any."""
    remembered = st.session_state.get(TRAIN_RUN_KEY)
    return Path(remembered) if remembered else None


def set_train_run(run_dir: Path) -> None:
    """Make ``run_dir`` the run the Train page shows (when no run is active)."""
    st.session_state[TRAIN_RUN_KEY] = str(run_dir)


def chosen_run_id() -> str | None:
    """Return the id of the run last chosen on the Results or Predict page, if any."""
    chosen = st.session_state.get(CHOSEN_RUN_KEY)
    return chosen if isinstance(chosen, str) else None


def set_chosen_run_id(run_id: str) -> None:
    """Keep ``run_id`` as the run the Results and Predict pages open first."""
    st.session_state[CHOSEN_RUN_KEY] = run_id
