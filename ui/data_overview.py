"""The Data page: choose the dataset (``ui/data_choice.py``), then check what the engine read:
summary, images per class, sample images, the leak check and the cache.

Widgets and layout only: reading, checking and drawing are library calls (``flowerdash.data``,
``flowerdash.data_checks``, ``flowerdash.charts.data``) behind the cached loaders in ``ui``.
Never imports Keras or TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from flowerdash.charts.data import class_counts_figure, image_grid, sample_indices_per_class
from flowerdash.data import colour_name, default_cache_dir, format_label_column, format_shape
from flowerdash.data_checks import compare_classes
from flowerdash.errors import ConfigError, DatasetError
from ui.data_choice import choose_dataset
from ui.errors import errors_shown, show_error
from ui.loaders import LoadedDataset, leak_check_cached, load_dataset_cached
from ui.state import DatasetChoice, current_dataset, is_bundled

MAX_CLASSES_SHOWN = 12


def show_summary(choice: DatasetChoice, train: LoadedDataset, test: LoadedDataset | None) -> None:
    dataset = train.dataset
    channels = dataset.shape[2]
    columns = st.columns(5)
    columns[0].metric("Training images", f"{len(dataset.labels):,}")
    columns[1].metric("Test images", f"{len(test.dataset.labels):,}" if test else "none")
    columns[2].metric("Image shape", format_shape(dataset.shape))
    columns[3].metric("Classes", len(dataset.classes))
    columns[4].metric("Colour", colour_name(channels))
    files = [("train", train)] + ([("test", test)] if test else [])
    rows = []
    for role, loaded in files:
        found = loaded.dataset
        rows.append(
            f"- **{role}** `{Path(found.path).name}`: "
            f"{'a header line' if found.header else 'no header line'}, "
            f"label in {format_label_column(found.label_column, quote='`')}"
        )
    st.markdown("\n".join(rows))
    st.markdown("**Classes:** " + ", ".join(f"`{name}`" for name in dataset.classes))
    if test is not None:
        comparison = compare_classes(dataset.classes, test.dataset.classes)
        unknown, absent = comparison.unknown, comparison.absent
        if unknown:
            st.warning(
                "The test file has classes the training file lacks (the model cannot learn "
                f"them): {', '.join(unknown)}.",
                icon=":material/warning:",
            )
        if absent:
            st.info(
                f"The test file has no images of {len(absent)} training class(es): "
                f"{', '.join(absent)}. The report will have no test figures for them.",
                icon=":material/info:",
            )


def show_class_counts(train: LoadedDataset, test: LoadedDataset | None) -> None:
    st.subheader("Images per class")
    figure = class_counts_figure(
        compare_classes(train.dataset.classes, test.dataset.classes if test else []).all,
        train.dataset.class_counts(),
        test.dataset.class_counts() if test else None,
    )
    st.plotly_chart(figure, width="stretch", config={"displayModeBar": False})


def show_samples(train: LoadedDataset, test: LoadedDataset | None) -> None:
    st.subheader("Sample images")
    controls = st.columns([1, 3, 1, 1], vertical_alignment="bottom")
    splits = {"train": train} | ({"test": test} if test else {})
    split = controls[0].radio("From", list(splits), horizontal=True, key="data.sample_split")
    dataset = splits[split].dataset
    classes = list(dataset.classes)
    chosen = controls[1].multiselect(
        "Classes",
        classes,
        default=classes[:MAX_CLASSES_SHOWN],
        # One key per file: another dataset's class choice must not carry over.
        key=f"data.sample_classes.{dataset.fingerprint}",
        help="Pick the classes to show (the first 12 are shown at first).",
    )
    per_class = controls[2].slider("Per class", 1, 16, 8, key="data.sample_count")
    if controls[3].button("Other samples", icon=":material/shuffle:"):
        st.session_state["data.sample_seed"] = st.session_state.get("data.sample_seed", 0) + 1
    seed = st.session_state.get("data.sample_seed", 0)
    if not chosen:
        st.caption("Pick at least one class.")
        return
    samples = sample_indices_per_class(dataset.labels, chosen, per_class, seed=seed)
    for name, indices in samples.items():
        if len(indices) == 0:
            st.caption(f"{name}: no images in this file")
            continue
        st.markdown(f"**{name}** · rows {', '.join(str(index + 1) for index in indices)}")
        st.image(image_grid(dataset.images[indices], columns=per_class, min_side=80))


def show_leak_check(
    choice: DatasetChoice, train: LoadedDataset, test: LoadedDataset | None
) -> None:
    st.subheader("Leak check")
    if test is None:
        st.caption("No test file: nothing to check.")
        return
    check = leak_check_cached(train, test, choice.shape)
    if check.leaked == 0:
        st.success(
            f"None of the {check.test_rows:,} test images is also in the training file.",
            icon=":material/verified:",
        )
        return
    st.warning(
        f"{check.leaked:,} of the {check.test_rows:,} test images ({check.fraction:.1%}) are "
        "byte-identical to a training image: test accuracy will look better than it is.",
        icon=":material/content_copy:",
    )
    shown = min(check.leaked, 8)
    st.caption(f"The first {shown}, as (test row, training row), rows counted from 1:")
    st.write(
        ", ".join(
            f"({test_row + 1}, {train_row + 1})"
            for test_row, train_row in zip(
                check.test_indices[:shown], check.train_indices[:shown], strict=True
            )
        )
    )
    st.image(
        image_grid(test.dataset.images[check.test_indices[:shown]], columns=8, min_side=48),
        caption="those test images",
    )


def show_cache_status(train: LoadedDataset, test: LoadedDataset | None) -> None:
    st.subheader("Cache")
    files = [("train", train)] + ([("test", test)] if test else [])
    lines = []
    for role, loaded in files:
        found = loaded.dataset
        how = (
            "read from the binary cache (memory-mapped)"
            if found.from_cache
            else "parsed from the CSV and saved to the binary cache"
        )
        lines.append(
            f"- **{role}**: {how} in {loaded.seconds:.2f} s this server session; "
            f"fingerprint `{found.fingerprint[:12]}`"
        )
    st.markdown("\n".join(lines))
    st.caption(
        f"Cache folder `{default_cache_dir()}` (set `FLOWERDASH_CACHE_DIR` to move it). A changed "
        "file is read again (the cache is keyed on its contents); "
        "`python -m flowerdash cache clear` empties the cache."
    )


def show_dataset(choice: DatasetChoice) -> None:
    try:
        train = load_dataset_cached(choice.train_path, choice.shape)
        test = load_dataset_cached(choice.test_path, choice.shape) if choice.test_path else None
    except (DatasetError, ConfigError) as error:
        show_error(error)
        if is_bundled(choice):
            st.info(
                "The bundled dataset is built from the photos in `data/flower_photos_64` by "
                "`make data`. Run it once, or choose other files above.",
                icon=":material/build:",
            )
        return
    st.header(choice.name)
    show_summary(choice, train, test)
    show_class_counts(train, test)
    show_samples(train, test)
    left, right = st.columns(2, gap="large")
    with left:
        show_leak_check(choice, train, test)
    with right:
        show_cache_status(train, test)


def render() -> None:
    """Draw the Data page."""
    st.title("Data")
    st.caption(
        "Choose the CSV files to work with, then check what the engine read: classes, counts, "
        "images and whether test images leak from the training set."
    )
    choose_dataset()
    with errors_shown():
        show_dataset(current_dataset())
