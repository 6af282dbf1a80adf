"""The Augmentation page: set the augmentation parameters and see what training does with them.

The widgets are generated from ``flowerdash.augment.AUGMENT_PARAMS``; the variants and the batch
come from ``flowerdash.augment`` (the very block training puts at the model's input). The chosen
settings are kept in the session for the Train page. Keras is imported once per server,
announced by a spinner.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import streamlit as st

from flowerdash.augment import AUGMENT_PARAMS, AugmentSettings, flip_warning
from flowerdash.charts.data import image_grid
from flowerdash.errors import ConfigError, DatasetError
from flowerdash.settings import TrainSettings
from ui.errors import errors_shown, show_error
from ui.loaders import augmented_batch, augmented_variants, keras_module, load_dataset_cached
from ui.state import current_augment_settings, current_dataset, repo_root, set_augment_settings
from ui.widgets import reset_widgets, settings_values, settings_widgets

KEY_PREFIX = "augment"
CLASS_KEY = "augment.class"
INDEX_KEY = "augment.index"
SEED_KEY = "augment.seed"
BATCH_KEY = "augment.batch"
VARIANT_COUNTS = (4, 8, 12, 16, 24, 32)
MAX_SEED = 2**31 - 1


def pick_random_image(labels: np.ndarray, classes: list[str]) -> None:
    """Button callback: a random class and a random image of it."""
    rng = np.random.default_rng()
    name = str(rng.choice(classes))
    st.session_state[CLASS_KEY] = name
    st.session_state[INDEX_KEY] = int(rng.integers(np.count_nonzero(labels == name))) + 1


def reroll(key: str) -> None:
    """Button callback: a new random seed in ``key``."""
    st.session_state[key] = int(np.random.default_rng().integers(MAX_SEED))


def keep_chosen_settings() -> None:
    """Widget callback: keep the settings the widgets hold now for the Train page.

    Called before the script reruns, so a change that reaches the server together with a click
    elsewhere (a page link to Train) is kept even though this page's script does not run again.
    """
    try:
        values = settings_values(AUGMENT_PARAMS, key_prefix=KEY_PREFIX)
        set_augment_settings(AugmentSettings.from_dict(values))
    except ConfigError:
        pass  # not kept: the page shows why when it reruns


def reset_settings() -> None:
    """Button callback: every parameter back to the tutorial's default, kept at once."""
    reset_widgets(AUGMENT_PARAMS, key_prefix=KEY_PREFIX)
    keep_chosen_settings()


def settings_panel(shape: tuple[int, int, int]) -> AugmentSettings:
    st.subheader("Settings")
    values = settings_widgets(
        AUGMENT_PARAMS,
        current_augment_settings().to_dict(),
        key_prefix=KEY_PREFIX,
        on_change=keep_chosen_settings,
    )
    st.button(
        "Reset to the tutorial's defaults",
        on_click=reset_settings,
        icon=":material/restart_alt:",
    )
    try:
        settings = AugmentSettings.from_dict(values)
    except ConfigError as error:
        show_error(error)
        settings = current_augment_settings()
    set_augment_settings(settings)
    notes = [f"Shear {settings.shear:g} is about {settings.shear_degrees:.1f} degrees."]
    if settings.is_identity:
        notes.append("Every parameter is off: training sees the images unchanged.")
    st.caption(" ".join(notes))
    warning = flip_warning(settings, shape)
    if warning:
        st.warning(warning, icon=":material/flip:")
    st.caption(
        "Values changed here win over the Train page's recipe; values left at these defaults "
        "follow the recipe's preset (glyphs for small grayscale images, photos otherwise)."
    )
    if (repo_root() / "pages/3_Train.py").is_file():
        st.page_link(
            "pages/3_Train.py", label="Train with these settings", icon=":material/model_training:"
        )
    else:
        st.caption("These settings are kept for training in this browser session.")
    return settings


def pick_image(labels: np.ndarray, classes: list[str]) -> int:
    """Draw the class / index / random controls; return the chosen row of the dataset."""
    if st.session_state.get(CLASS_KEY) not in classes:
        st.session_state[CLASS_KEY] = classes[0]
    controls = st.columns([2, 1, 1], vertical_alignment="bottom")
    name = controls[0].selectbox("Class", classes, key=CLASS_KEY)
    rows = np.flatnonzero(labels == name)
    # Keep the index valid when the class (and so the number of its images) changes.
    current = int(st.session_state.get(INDEX_KEY, 1))
    st.session_state[INDEX_KEY] = min(max(current, 1), len(rows))
    index = controls[1].number_input(
        f"Image (1-{len(rows)})", min_value=1, max_value=len(rows), step=1, key=INDEX_KEY
    )
    controls[2].button(
        "Random image",
        on_click=pick_random_image,
        args=(labels, classes),
        icon=":material/casino:",
        width="stretch",
    )
    return int(rows[int(index) - 1])


def variant_columns(count: int) -> int:
    """Columns of the variants grid: two rows up to 8 variants, three up to 12, then 8 wide."""
    return 4 if count <= 8 else 6 if count <= 12 else 8


def variants_panel(
    images: np.ndarray, labels: np.ndarray, classes: list[str], settings: AugmentSettings
) -> None:
    st.subheader("One image, augmented")
    row = pick_image(labels, classes)
    controls = st.columns([2, 1, 1], vertical_alignment="bottom")
    count = controls[0].select_slider("Variants", VARIANT_COUNTS, value=8, key="augment.count")
    st.session_state.setdefault(SEED_KEY, 0)
    seed = controls[1].number_input("Seed", min_value=0, max_value=MAX_SEED, step=1, key=SEED_KEY)
    controls[2].button(
        "Re-roll", on_click=reroll, args=(SEED_KEY,), icon=":material/casino:", width="stretch"
    )
    variants = augmented_variants(images[row], settings, int(count), int(seed))
    original_column, variants_column = st.columns([1.4, 4], gap="medium")
    with original_column:
        st.image(image_grid(images[row : row + 1], columns=1, min_side=160), caption="original")
        st.caption(f"row {row + 1} of the training file · class `{labels[row]}`")
    with variants_column:
        st.image(
            image_grid(variants, columns=variant_columns(int(count)), min_side=128),
            caption=f"{int(count)} variants, seed {int(seed)}",
        )


def training_batch_rows(images: np.ndarray, batch_size: int, seed: int, index: int) -> np.ndarray:
    """The rows training reads as batch ``index`` (0-based) of its first epoch."""
    keras_module()  # flowerdash.data.batches imports Keras; load it once, announced
    from flowerdash.data.batches import ImageBatches

    batches = ImageBatches(images, None, batch_size, shuffle=True, seed=seed)
    return batches.rows(index)


def random_batch(batches: int) -> None:
    """Button callback: a random batch number of the first epoch."""
    st.session_state[BATCH_KEY] = int(np.random.default_rng().integers(batches)) + 1


def batch_panel(
    images: np.ndarray, labels: np.ndarray, classes: list[str], settings: AugmentSettings
) -> None:
    training = TrainSettings()
    batch_size = min(training.batch_size, len(images))
    batches = math.ceil(len(images) / batch_size)
    st.subheader("One training batch, as the model receives it")
    st.caption(
        f"The images training reads as this batch of its first epoch (its default batch size "
        f"{training.batch_size} and seed {training.seed}), passed through the augmentation block "
        "training builds with that seed. In a live run the block's random draws carry on from "
        "batch to batch, so each epoch the model sees new variants of every image."
    )
    st.session_state[BATCH_KEY] = min(max(int(st.session_state.get(BATCH_KEY, 1)), 1), batches)
    controls = st.columns([1, 1, 4], vertical_alignment="bottom")
    number = controls[0].number_input(
        f"Batch (1-{batches})", min_value=1, max_value=batches, step=1, key=BATCH_KEY
    )
    controls[1].button(
        "Another batch", on_click=random_batch, args=(batches,), icon=":material/shuffle:"
    )
    rows = training_batch_rows(images, batch_size, training.seed, int(number) - 1)
    batch = augmented_batch(np.asarray(images[rows]), settings, training.seed)
    st.image(image_grid(batch, columns=8, min_side=96), width="stretch")
    counts = Counter(str(label) for label in labels[rows])
    st.caption(
        "Classes in this batch: "
        + ", ".join(f"{name} x{counts[name]}" for name in classes if counts[name])
    )


def render() -> None:
    """Draw the Augmentation page."""
    st.title("Augmentation")
    st.caption(
        "What training does to each image before the model sees it, made by the very "
        "augmentation block training puts at the model's input. The settings here are the ones "
        "the Train page uses."
    )
    choice = current_dataset()
    try:
        dataset = load_dataset_cached(choice.train_path, choice.shape).dataset
    except (DatasetError, ConfigError) as error:
        show_error(error)
        st.page_link(
            "pages/1_Data.py", label="Choose a dataset on the Data page", icon=":material/dataset:"
        )
        return
    images, labels, classes = dataset.images, dataset.labels, list(dataset.classes)
    settings_column, preview_column = st.columns([1.2, 3], gap="large")
    with settings_column, st.container(border=True):
        chosen = settings_panel(tuple(int(v) for v in images.shape[1:]))
    with preview_column, errors_shown():
        variants_panel(images, labels, classes, chosen)
    with errors_shown():
        batch_panel(images, labels, classes, chosen)
