"""The Predict page: a run's model on uploaded images or on test rows, top-k classes per image.

The model is loaded in Keras' safe mode by ``flowerdash.predict`` once per run and model file
version (``ui.loaders.run_model``); Keras is imported only when the page needs the model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from flowerdash import predict, runs
from flowerdash.charts.data import display_image
from flowerdash.charts.results import top_k_figure
from flowerdash.data import format_shape
from flowerdash.errors import FlowerdashError
from flowerdash.report_tables import true_labels_by_row
from ui import saliency_views
from ui.errors import show_error
from ui.loaders import run_model, test_images
from ui.run_choice import choose_run

SOURCES = ("Upload images", "Test rows")
UPLOAD_TYPES = ["png", "jpg", "jpeg"]
DEFAULT_ROWS = 6
COLUMNS = 3


def test_row_inputs(config: runs.RunConfig, report: runs.RunReport | None) -> predict.Inputs | None:
    """Draw the test-row chooser; return the chosen rows (None when none is chosen)."""
    images = test_images(config)
    labels = true_labels_by_row(report.predictions if report is not None else [], len(images))
    count = len(images)
    rows = st.multiselect(
        f"Test rows (0 to {count - 1})",
        list(range(count)),
        default=list(range(min(DEFAULT_ROWS, count))),
        format_func=lambda row: f"#{row}" + (f" ({labels[row]})" if labels[row] else ""),
        key="predict.rows",
    )
    if not rows:
        return None
    return predict.Inputs(
        np.asarray(images[rows]),
        [f"test row #{row}" for row in rows],
        [labels[row] for row in rows],
    )


def show_predictions(
    inputs: predict.Inputs, probabilities: np.ndarray, classes: Sequence[str], k: int
) -> None:
    """Draw each image (as the model sees it) beside a bar chart of its top-k classes."""
    columns = st.columns(COLUMNS)
    for position, (image, caption, label, row) in enumerate(
        zip(inputs.images, inputs.names, inputs.labels, probabilities, strict=True)
    ):
        best = int(np.argmax(row))
        verdict = f"**{classes[best]}** {row[best]:.0%}"
        if label is not None:
            verdict += " ✓" if classes[best] == label else f" ✗ (true: {label})"
        with columns[position % COLUMNS], st.container(border=True):
            left, right = st.columns([1, 2], vertical_alignment="center")
            left.image(display_image(image, 96), caption=caption)
            right.markdown(verdict)
            right.plotly_chart(
                top_k_figure(classes, row, k=k),
                key=f"predict.top.{position}",
                config={"displayModeBar": False},
            )


def render() -> None:
    """Draw the Predict page."""
    st.title("Predict")
    run_dir = choose_run(runs.MODEL, key="predict.run")
    if run_dir is None:
        st.info("No run has a saved model yet: train one first.")
        st.page_link("pages/3_Train.py", label="Go to training", icon=":material/model_training:")
        return
    try:
        config = runs.read_config(run_dir)
        report = runs.read_report(run_dir) if (run_dir / runs.REPORT).exists() else None
    except FlowerdashError as error:
        show_error(error)
        return
    classes, shape = config.classes, config.shape
    st.caption(
        f"The model takes {format_shape(shape)} images and knows {len(classes)} classes: "
        + ", ".join(classes)
        + ". Images are converted to "
        + ("grayscale" if shape[2] == 1 else "RGB")
        + " and resized to that size."
    )
    source_column, k_column = st.columns([3, 1])
    source = source_column.radio("Images", SOURCES, horizontal=True, key="predict.source")
    k = k_column.slider(
        "Classes shown per image", 1, len(classes), min(3, len(classes)), key="predict.k"
    )
    try:
        if source == SOURCES[0]:
            uploads = st.file_uploader(
                "PNG or JPEG images",
                type=UPLOAD_TYPES,
                accept_multiple_files=True,
                key="predict.uploads",
            )
            if not uploads:
                st.info("Upload one or more images to classify them.")
                return
            inputs = predict.read_uploads(uploads, shape)
        else:
            chosen = test_row_inputs(config, report)
            if chosen is None:
                st.info("Choose one or more test rows.")
                return
            inputs = chosen
        model = run_model(run_dir)
        from flowerdash.evaluate import predict_probabilities

        probabilities = predict_probabilities(model, inputs.images)
    except FlowerdashError as error:
        show_error(error)
        return
    show_predictions(inputs, probabilities, classes, k)
    saliency_views.predict_maps_section(run_dir, inputs.images, inputs.names, probabilities)
