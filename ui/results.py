"""The Results page: a run's curves, per-class scores, confusion matrix and the images behind a
cell, plus the downloads. Reads the run directory only; Keras is loaded only on request (saliency
maps, the most confident mistakes: ``ui/saliency_views.py``); exports: ``ui/exports.py``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from flowerdash import runs
from flowerdash.charts.data import display_image
from flowerdash.charts.results import confusion_matrix_figure
from flowerdash.charts.training import history_figure
from flowerdash.errors import FlowerdashError, RunError
from flowerdash.report_tables import (
    Cell,
    cell_label,
    cell_predictions,
    cells_in_order,
    overall_accuracy,
    per_class_table,
    predictions_table,
    report_classes,
    report_csv,
)
from ui import exports, saliency_views
from ui.errors import show_error
from ui.loaders import test_images
from ui.run_choice import choose_run
from ui.state import LOG_LOSS_KEY

GALLERY_LIMIT = 30
GALLERY_COLUMNS = 6


def clicked_cell(event: Any) -> Cell | None:
    """Return the (true, predicted) cell of a heatmap selection event, if a cell was clicked."""
    try:
        points = event.selection.points
    except AttributeError:
        return None
    if not points:
        return None
    point = points[0]
    return str(point["y"]), str(point["x"])


def gallery(images: np.ndarray, chosen: Sequence[Mapping[str, Any]]) -> None:
    """Draw the test images of ``chosen`` predictions, captioned with prediction and confidence."""
    shown = list(chosen[:GALLERY_LIMIT])
    if len(chosen) > len(shown):
        st.caption(f"The {len(shown)} most confident of {len(chosen)} images.")
    columns = st.columns(GALLERY_COLUMNS)
    for position, prediction in enumerate(shown):
        index = int(prediction["index"])
        with columns[position % GALLERY_COLUMNS]:
            st.image(
                display_image(images[index]),
                caption=(
                    f"#{index} · {prediction['predicted']} {float(prediction['confidence']):.0%}"
                ),
            )


def confusion_section(run_dir: Path, report: Mapping[str, Any], config: runs.RunConfig) -> None:
    """Draw the heatmap, the cell chooser (most confused first) and the cell's images."""
    classes = report_classes(report)
    st.subheader("Confusion matrix")
    normalize = st.toggle(
        "Share of each true class (row-normalised)",
        key="results.normalize",
        help="Off: image counts. On: each row divided by its total, so the diagonal is recall.",
    )
    event = st.plotly_chart(
        confusion_matrix_figure(report["confusion_matrix"], classes, normalize=normalize),
        width="stretch",
        on_select="rerun",
        selection_mode="points",
        key=f"results.confusion.{run_dir.name}",
        config={"displaylogo": False},
    )
    cells = cells_in_order(report)
    if not cells:
        st.info("The test set is empty: nothing to show.")
        return
    pair_key = f"results.cell.{run_dir.name}"
    click_key = f"results.click.{run_dir.name}"
    clicked = clicked_cell(event)
    if clicked is not None and clicked != st.session_state.get(click_key):
        st.session_state[click_key] = clicked
        if clicked in cells:
            st.session_state[pair_key] = clicked
        else:
            st.caption(f"No test image of {clicked[0]} was predicted as {clicked[1]}.")
    if st.session_state.get(pair_key) not in cells:
        st.session_state[pair_key] = cells[0]
    cell = st.selectbox(
        "Show the images of (click a cell above, or choose; mistakes most frequent first)",
        cells,
        format_func=lambda c: cell_label(report, c),
        key=pair_key,
    )
    chosen = cell_predictions(report.get("predictions", []), *cell)
    if not chosen:
        st.info("The report has no per-image predictions for this cell.")
        return
    try:
        images = test_images(config)
    except FlowerdashError as error:
        show_error(error, context="Test images")
        return
    shown = saliency_views.map_choice(f"results.maps.{run_dir.name}")
    if shown == saliency_views.MAP_CHOICES[0]:
        gallery(images, chosen)
    else:
        saliency_views.map_gallery(run_dir, images, chosen, classes, shown, limit=GALLERY_LIMIT)


def mistakes_section(run_dir: Path, report: Mapping[str, Any], config: runs.RunConfig) -> None:
    """Draw the most confident mistakes (needs the model and the test images)."""
    if not (run_dir / runs.MODEL).exists():
        return
    try:
        images = test_images(config)
    except FlowerdashError as error:
        show_error(error, context="Test images")
        return
    saliency_views.top_losses_section(run_dir, report, images, report_classes(report))


def downloads(run_dir: Path, report: Mapping[str, Any]) -> None:
    """Draw the download buttons: model, report CSV and JSON, predictions, training plot.

    Each file is read or built only when its button is clicked (the model is tens of MB).
    """
    model, plot = run_dir / runs.MODEL, run_dir / runs.PLOT
    files = [
        ("model.keras", model.read_bytes, "application/octet-stream", model.exists()),
        ("report.csv", partial(report_csv, report), "text/csv", True),
        ("report.json", partial(json.dumps, report, indent=1), "application/json", True),
        (
            "predictions.csv",
            partial(_predictions_csv, report.get("predictions", [])),
            "text/csv",
            bool(report.get("predictions")),
        ),
        ("plot.png", plot.read_bytes, "image/png", plot.exists()),
    ]
    columns = st.columns(len(files))
    for column, (name, data, mime, present) in zip(columns, files, strict=True):
        if present:
            column.download_button(
                name,
                data,
                f"{run_dir.name}-{name}",
                mime,
                key=f"results.download.{name}",
                on_click="ignore",
                icon=":material/download:",
                width="stretch",
            )


def _predictions_csv(predictions: Sequence[Mapping[str, Any]]) -> str:
    return predictions_table(predictions).to_csv(index=False)


def summary_metrics(
    status: runs.RunStatus, report: Mapping[str, Any], config: runs.RunConfig
) -> None:
    """Draw the headline numbers (test accuracy, test images, epochs, mode) and the settings."""
    settings = config.settings
    accuracy = overall_accuracy(report)
    table = per_class_table(report)
    columns = st.columns(4)
    columns[0].metric("Test accuracy", "?" if accuracy is None else f"{accuracy:.1%}")
    columns[1].metric("Test images", int(table["support"].sum()))
    columns[2].metric("Epochs", f"{status.epoch or '?'} of {settings.epochs}")
    columns[3].metric("Training mode", settings.mode)
    details = [
        f"model {settings.model}",
        f"{settings.optimizer} at learning rate {settings.learning_rate}",
        f"batch size {settings.batch_size}",
        "augmented" if settings.augment else "no augmentation",
        f"seed {settings.seed}",
        f"run {status.state}",
    ]
    st.caption(" · ".join(details))


def per_class_section(report: Mapping[str, Any]) -> None:
    """Draw the per-class precision, recall, F1 and support table (sortable by any column)."""
    st.subheader("Per class")
    score = st.column_config.ProgressColumn(format="%.2f", min_value=0.0, max_value=1.0)
    st.dataframe(
        per_class_table(report),
        hide_index=True,
        width="stretch",
        column_config={"precision": score, "recall": score, "f1-score": score},
    )
    st.caption("Click a column header to sort. Support: test images of that class.")


def render() -> None:
    """Draw the Results page."""
    st.title("Results")
    run_dir = choose_run(runs.REPORT, key="results.run")
    if run_dir is None:
        st.info("No run has a report yet: train one, it is written when training ends.")
        st.page_link("pages/3_Train.py", label="Go to training", icon=":material/model_training:")
        return
    try:
        report = runs.read_report(run_dir).as_dict()
        config = runs.read_config(run_dir)
        summary_metrics(runs.read_status(run_dir), report, config)
        st.subheader("Training curves")
        log_loss = st.toggle("Loss on a log scale", key=LOG_LOSS_KEY)
        st.plotly_chart(
            history_figure(runs.read_history(run_dir).frame(), log_loss=log_loss),
            width="stretch",
            key="results.curves",
            config={"displaylogo": False},
        )
        per_class_section(report)
        confusion_section(run_dir, report, config)
        mistakes_section(run_dir, report, config)
        st.subheader("Downloads")
        downloads(run_dir, report)
        if (run_dir / runs.MODEL).exists():
            exports.export_section(run_dir)
    except FlowerdashError as error:
        show_error(error)
    except KeyError as error:  # a report.json from another tool or an older version
        show_error(
            RunError(
                f"{run_dir / runs.REPORT}: no {error} entry (expected a flowerdash report: "
                "per-class scores, confusion_matrix, classes, predictions)"
            )
        )
