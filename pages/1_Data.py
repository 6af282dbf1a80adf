"""Data page: choose the dataset (bundled, uploaded, or a file inside data/) and inspect it.

Widgets and layout only: reading, checking and drawing are library calls (``flowerdash.data``,
``flowerdash.data_checks``, ``flowerdash.charts.data``) behind the cached loaders in ``ui``.
Never imports Keras or TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import streamlit as st

from flowerdash.charts.data import class_counts_figure, image_grid, sample_indices_per_class
from flowerdash.data import default_cache_dir, format_shape
from flowerdash.data_checks import check_same_shape, compare_classes
from flowerdash.dataset_files import list_dataset_files, resolve_data_path, store_upload
from flowerdash.errors import ConfigError, DatasetError, ShapeProblem
from ui.errors import errors_shown, show_error
from ui.layout import page_setup
from ui.loaders import LoadedDataset, leak_check_cached, load_dataset_cached
from ui.state import (
    DatasetChoice,
    bundled_dataset,
    current_dataset,
    data_dir,
    is_bundled,
    set_dataset,
    uploads_dir,
)

SOURCES = ("Bundled flowers", "Upload CSV files", "A file inside data/")
SHAPE_HELP = (
    "Height x width x channels, e.g. 32x48x3. Only needed when a line's pixel count is not a "
    "square image: s*s values are read as s x s grayscale (784 = 28x28x1) and 3*s*s as s x s "
    "RGB (12288 = 64x64x3); any other count (a 32x48 photo, say) needs its shape here."
)
UPLOAD_HELP = (
    "One image a line: a class label and the pixel values (0-255, row by row, channels last), "
    "with or without a header line; .csv or .csv.gz. To accept files over the size limit "
    "shown below, start the dashboard with `--server.maxUploadSize 1000` (MB) or change "
    "`maxUploadSize` in `.streamlit/config.toml`; or copy the file into `data/` and open it "
    "by path."
)
MAX_CLASSES_SHOWN = 12
FLASH_KEY = "data.flash"


def parse_shape_text(text: str) -> tuple[int, int, int] | None:
    """The shape typed by the user (``HxWxC``), or None when the box is empty."""
    from flowerdash.data import parse_shape

    return parse_shape(text.strip() or None)


def with_upload_names(error: DatasetError, names: Mapping[Path, str]) -> DatasetError:
    """``error`` naming the file as the user uploaded it, not by its stored hashed path."""
    for stored, original in names.items():
        if error.path is not None and Path(error.path) == stored:
            return DatasetError(error.problem, path=f"{original} (uploaded)", line=error.line)
    return error


def apply_choice(choice: DatasetChoice, upload_names: Mapping[Path, str] | None = None) -> None:
    """Read ``choice``'s files; make it the dataset in use only if every file reads cleanly.

    ``upload_names`` maps stored upload paths to the names the user knows them by (for errors).
    """
    previous = current_dataset()
    try:
        train = load_dataset_cached(choice.train_path, choice.shape).dataset
        if choice.test_path is not None:
            test = load_dataset_cached(choice.test_path, choice.shape).dataset
            check_same_shape(
                choice.test_path.name,
                test.shape,
                train.shape,
                against=f"the training images ({choice.train_path.name})",
            )
    except (DatasetError, ConfigError) as error:
        if isinstance(error, DatasetError) and upload_names:
            error = with_upload_names(error, upload_names)
        show_error(error)
        if isinstance(error, ShapeProblem):
            st.info(
                "Type the image shape (height x width x channels, e.g. 32x48x3) in the "
                "*Image shape* box above and load again.",
                icon=":material/straighten:",
            )
        st.info(f"Still using **{previous.name}**.", icon=":material/undo:")
        return
    set_dataset(choice)
    # Rerun so that everything drawn above (the sidebar) shows the new dataset too.
    st.session_state[FLASH_KEY] = f"Now using **{choice.name}**."
    st.rerun()


def choose_bundled() -> None:
    bundled = bundled_dataset()
    if is_bundled(current_dataset()):
        st.caption(
            "The bundled dataset is in use: 500 flower photos (daisy, dandelion, roses, "
            "sunflowers, tulips) at 64x64 RGB, split 75/25 into train and test."
        )
        return
    if st.button("Use the bundled flowers", icon=":material/local_florist:"):
        apply_choice(bundled)


def choose_upload() -> None:
    left, right = st.columns(2)
    train_file = left.file_uploader(
        "Training CSV", type=["csv", "csv.gz"], key="data.upload_train", help=UPLOAD_HELP
    )
    test_file = right.file_uploader(
        "Test CSV (optional)", type=["csv", "csv.gz"], key="data.upload_test", help=UPLOAD_HELP
    )
    st.caption(
        f"Up to {st.get_option('server.maxUploadSize')} MB a file (raise it with "
        "`--server.maxUploadSize`, see the ? help). Files are kept in the uploads folder "
        "under their content's hash: uploading the same file again reuses it."
    )
    shape_text = st.text_input(
        "Image shape HxWxC (optional)", key="data.upload_shape", help=SHAPE_HELP
    )
    if train_file is not None:  # what the server has received, so what a click would load
        test_part = f"`{test_file.name}` for testing" if test_file else "no test file"
        st.caption(f"Received: `{train_file.name}` for training, {test_part}.")
    if st.button(
        "Load the uploaded files",
        type="primary",
        disabled=train_file is None,
        icon=":material/upload_file:",
    ):
        with errors_shown(context="Not loaded"):
            folder = uploads_dir()
            train_path = store_upload(train_file.name, train_file.getvalue(), folder)
            test_path = None
            if test_file is not None:
                test_path = store_upload(test_file.name, test_file.getvalue(), folder)
            name = f"Upload: {train_file.name}" + (f" + {test_file.name}" if test_file else "")
            names = {train_path: train_file.name}
            if test_path is not None:
                names[test_path] = test_file.name
            apply_choice(
                DatasetChoice(train_path, test_path, parse_shape_text(shape_text), name), names
            )


def choose_path() -> None:
    st.caption(f"Paths are read inside `{data_dir()}`; nothing outside it can be opened here.")
    found = list_dataset_files(data_dir())
    with st.expander(f"CSV files found there ({len(found)})"):
        if found:
            st.code("\n".join(found), language=None)
        else:
            st.caption("None yet: copy your files into the data folder, or upload them.")
    left, right = st.columns(2)
    train_text = left.text_input(
        "Training file", key="data.path_train", placeholder="e.g. flowers_train.csv"
    )
    test_text = right.text_input(
        "Test file (optional)", key="data.path_test", placeholder="e.g. flowers_test.csv"
    )
    shape_text = st.text_input(
        "Image shape HxWxC (optional)", key="data.path_shape", help=SHAPE_HELP
    )
    if st.button("Load these files", type="primary", icon=":material/folder_open:"):
        with errors_shown(context="Not loaded"):
            train_path = resolve_data_path(train_text, data_dir())
            test_path = resolve_data_path(test_text, data_dir()) if test_text.strip() else None
            name = train_path.name + (f" + {test_path.name}" if test_path else "")
            apply_choice(DatasetChoice(train_path, test_path, parse_shape_text(shape_text), name))


def choose_dataset() -> None:
    with st.container(border=True):
        st.subheader("Choose the dataset")
        flash = st.session_state.pop(FLASH_KEY, None)
        if flash:
            st.success(flash, icon=":material/check_circle:")
        source = st.radio(
            "Where the CSV files come from",
            SOURCES,
            horizontal=True,
            key="data.source",
            label_visibility="collapsed",
        )
        if source == SOURCES[0]:
            choose_bundled()
        elif source == SOURCES[1]:
            choose_upload()
        else:
            choose_path()


def label_column_text(label_column: str | int) -> str:
    """How the label column is described: its header name, or its 1-based position."""
    if isinstance(label_column, str):
        return f"`{label_column}`"
    return f"column {int(label_column) + 1}"


def show_summary(choice: DatasetChoice, train: LoadedDataset, test: LoadedDataset | None) -> None:
    dataset = train.dataset
    channels = dataset.shape[2]
    columns = st.columns(5)
    columns[0].metric("Training images", f"{len(dataset.labels):,}")
    columns[1].metric("Test images", f"{len(test.dataset.labels):,}" if test else "none")
    columns[2].metric("Image shape", format_shape(dataset.shape))
    columns[3].metric("Classes", len(dataset.classes))
    columns[4].metric("Colour", "RGB" if channels == 3 else "grayscale" if channels == 1 else "-")
    files = [("train", train)] + ([("test", test)] if test else [])
    rows = []
    for role, loaded in files:
        found = loaded.dataset
        rows.append(
            f"- **{role}** `{Path(found.path).name}`: "
            f"{'a header line' if found.header else 'no header line'}, "
            f"label in {label_column_text(found.label_column)}"
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


page_setup("Data")
st.title("Data")
st.caption(
    "Choose the CSV files to work with, then check what the engine read: classes, counts, "
    "images and whether test images leak from the training set."
)
choose_dataset()
with errors_shown():
    show_dataset(current_dataset())
