"""The Home page: what the tool does, the dataset in use, the way through the pages, and the
latest training runs. Never imports Keras or TensorFlow.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from flowerdash.data import colour_name
from ui.errors import errors_shown
from ui.layout import PAGES, TITLE_ICON, installed_pages
from ui.loaders import load_dataset_cached
from ui.state import current_dataset, runs_dir

RECENT_RUNS = 5
MAIN_PATH = 4  # Data, Augmentation, Train, Results; then the optional pages


def show_steps() -> None:
    st.subheader("The way through")
    pages = [page for page in PAGES if page.script != "app.py"]
    main, more = pages[:MAIN_PATH], pages[MAIN_PATH:]
    installed = {page.script for page in installed_pages()}
    columns = st.columns(MAIN_PATH)
    for number, (column, page) in enumerate(zip(columns, main, strict=True), start=1):
        with column, st.container(border=True, height="stretch"):
            if page.script in installed:
                st.page_link(page.script, label=f"{number}. {page.label}", icon=page.icon)
            else:
                st.markdown(f"**{number}. {page.label}** (not installed)")
            st.caption(page.purpose)
    extras = [page for page in more if page.script in installed]
    if extras:
        columns = st.columns(MAIN_PATH)
        for column, page in zip(columns, extras, strict=False):
            with column:
                st.page_link(page.script, label=page.label, icon=page.icon)
                st.caption(page.purpose)


def show_dataset() -> None:
    choice = current_dataset()
    st.subheader("Dataset in use")
    if not choice.train_path.exists():
        st.warning(
            f"The dataset file `{choice.train_path}` does not exist. For the bundled flowers, "
            "run `make data` once; or load your own CSV files on the Data page.",
            icon=":material/warning:",
        )
        return
    with errors_shown():
        train = load_dataset_cached(choice.train_path, choice.shape).dataset
        height, width, channels = train.shape
        test_rows = None
        if choice.test_path is not None:
            test_rows = len(load_dataset_cached(choice.test_path, choice.shape).dataset.labels)
        st.markdown(f"**{choice.name}**")
        st.caption(f"{height}x{width} {colour_name(channels)} images · `{choice.train_path.name}`")
        columns = st.columns(3)
        columns[0].metric("Training images", f"{len(train.labels):,}")
        columns[1].metric("Test images", "none" if test_rows is None else f"{test_rows:,}")
        columns[2].metric("Classes", len(train.classes))
        st.page_link("pages/1_Data.py", label="Inspect or change it", icon=":material/dataset:")


def show_recent_runs() -> None:
    from flowerdash.runs import list_runs

    st.subheader("Recent training runs")
    runs = list_runs(runs_dir())[:RECENT_RUNS]
    if not runs:
        st.caption("No training runs yet: start one on the Train page.")
        return
    # Few, narrow columns: the half-width column must show every one without scrolling;
    # the Runs page has the full table.
    table = pd.DataFrame(
        {
            "run": [run.run_id for run in runs],
            "state": [run.label for run in runs],
            "epochs": [f"{run.epochs_done}/{run.epochs or '?'}" for run in runs],
            "accuracy": [run.accuracy for run in runs],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "run": st.column_config.TextColumn("run", help="Started at (date-time) and id"),
            "accuracy": st.column_config.ProgressColumn(
                "test accuracy", min_value=0.0, max_value=1.0, format="percent"
            ),
        },
    )
    if "pages/6_Runs.py" in {page.script for page in installed_pages()}:
        st.page_link("pages/6_Runs.py", label="All runs", icon=":material/history:")


def render() -> None:
    """Draw the Home page."""
    st.title(f"{TITLE_ICON} flowerdash")
    st.markdown(
        "Train image classifiers on image datasets stored as **CSV files**: one image a line, "
        "a class label and its pixel values (any size, grayscale or RGB). Load your files, look "
        "at the decoded images and at the augmentations training will apply, train a MiniVGGNet "
        "(or a smaller model) and watch it learn, then read the per-class report and the "
        "confusion matrix. Everything here also runs from the command line: "
        "`python -m flowerdash --help`."
    )
    show_steps()
    left, right = st.columns([1, 1], gap="large")
    with left:
        show_dataset()
    with right, errors_shown():
        show_recent_runs()
