"""Choosing the Data page's dataset: the bundled flowers, uploaded CSVs, or a file inside data/.

A choice becomes the dataset in use (``ui.state.set_dataset``) only when every file reads
cleanly and train and test images have one shape (``flowerdash.data_checks``); otherwise the
error is shown and the previous dataset stays. Never imports Keras or TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import streamlit as st

from flowerdash.data import parse_shape
from flowerdash.data_checks import check_same_shape
from flowerdash.dataset_files import (
    list_dataset_files,
    resolve_data_path,
    store_upload,
    with_upload_names,
)
from flowerdash.errors import ConfigError, DatasetError, ShapeProblem
from ui.errors import errors_shown, show_error
from ui.loaders import load_dataset_cached
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
FLASH_KEY = "data.flash"


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
            apply_choice(DatasetChoice(train_path, test_path, parse_shape(shape_text), name), names)


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
            apply_choice(DatasetChoice(train_path, test_path, parse_shape(shape_text), name))


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
