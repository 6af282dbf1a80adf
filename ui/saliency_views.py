"""Saliency maps on the Results and Predict pages: a confusion cell's images with their maps,
the most confident mistakes (fastai's top losses), and the maps of the Predict page's images.

The maps come from ``flowerdash.saliency`` (the library computes, the page draws them with
``flowerdash.charts.saliency.overlay_saliency``); the model is ``ui.loaders.run_model``'s.
Maps and test-set probabilities are cached per run, model file version and images asked for.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from flowerdash import runs
from flowerdash.charts.data import display_image, fit_factor
from flowerdash.charts.saliency import overlay_saliency
from flowerdash.errors import FlowerdashError
from ui.errors import show_error
from ui.loaders import run_model

MAP_CHOICES = ("Images", "Maps: predicted class", "Maps: true class")
TOP_LOSSES_DEFAULT = 12
GALLERY_COLUMNS = 6
DISPLAY_SIZE = 128
MAP_SPINNER = "Computing saliency maps (gradients through the model)."


def _model_version(run_dir: Path) -> int:
    return os.stat(run_dir / runs.MODEL).st_mtime_ns


@st.cache_data(max_entries=32, show_spinner=False)
def _maps(
    run_dir: str, model_version: int, images_key: str, classes: tuple[int, ...], _images: Any
) -> np.ndarray:
    from flowerdash.saliency import saliency_maps

    return saliency_maps(run_model(Path(run_dir)), _images, list(classes))


def saliency_for(
    run_dir: Path, images: np.ndarray, rows: Sequence[int], classes: Sequence[int]
) -> np.ndarray:
    """Maps ``(len(rows), H, W)`` for the test images ``images[rows]``, each for its class in
    ``classes``."""
    key = "test:" + ",".join(str(int(r)) for r in rows)
    picked = np.asarray(images)[list(rows)]
    with st.spinner(MAP_SPINNER):
        return _maps(
            str(run_dir), _model_version(run_dir), key, tuple(int(c) for c in classes), picked
        )


@st.cache_data(max_entries=4, show_spinner=False)
def _test_probabilities(run_dir: str, model_version: int, _images: Any) -> np.ndarray:
    from flowerdash.evaluate import predict_probabilities

    return predict_probabilities(run_model(Path(run_dir)), np.asarray(_images))


def map_choice(key: str) -> str:
    """Draw the images / maps switch above a gallery; return the chosen entry of MAP_CHOICES."""
    return st.radio(
        "Show",
        MAP_CHOICES,
        horizontal=True,
        key=key,
        help="Saliency maps (HiResCAM, a Grad-CAM variant) colour the regions of the image "
        "that raised the chosen class's score the most: red most, blue least.",
    )


def _display(image: np.ndarray, saliency: np.ndarray | None) -> np.ndarray:
    if saliency is None:
        return display_image(image, DISPLAY_SIZE)
    factor = fit_factor(image.shape[0], image.shape[1], DISPLAY_SIZE)
    return overlay_saliency(image, saliency, upscale=factor)


def _map_grid(
    images: Sequence[np.ndarray],
    maps: Sequence[np.ndarray | None],
    captions: Sequence[str],
) -> None:
    """Draw the images, each under its map where it has one, in a grid of gallery columns."""
    columns = st.columns(GALLERY_COLUMNS)
    for position, (image, saliency, caption) in enumerate(zip(images, maps, captions, strict=True)):
        with columns[position % GALLERY_COLUMNS]:
            st.image(_display(image, saliency), caption=caption)


def map_gallery(
    run_dir: Path,
    images: np.ndarray,
    chosen: Sequence[Mapping[str, Any]],
    classes: Sequence[str],
    which: str,
    *,
    limit: int,
) -> None:
    """Draw ``chosen`` test predictions with the map of their predicted or true class."""
    shown = list(chosen[:limit])
    if len(chosen) > len(shown):
        st.caption(f"The {len(shown)} most confident of {len(chosen)} images.")
    field = "true" if which == MAP_CHOICES[2] else "predicted"
    rows = [int(p["index"]) for p in shown]
    targets = [list(classes).index(str(p[field])) for p in shown]
    try:
        maps = saliency_for(run_dir, images, rows, targets)
    except FlowerdashError as error:
        show_error(error, context="Saliency maps")
        return
    captions = [
        f"#{p['index']} · {p['predicted']} {float(p['confidence']):.0%} · map: {p[field]}"
        for p in shown
    ]
    _map_grid([images[row] for row in rows], maps, captions)


def top_losses_section(
    run_dir: Path, report: Mapping[str, Any], images: np.ndarray, classes: Sequence[str]
) -> None:
    """Draw the test images the model got wrong with the highest loss, with their maps."""
    from flowerdash.evaluate import top_losses

    st.subheader("Most confident mistakes")
    st.caption(
        "The misclassified test images with the highest loss (−log of the probability given to "
        "the true class), as fastai's top losses: what the model is most sure of and wrong."
    )
    if not st.toggle(
        "Show them (loads the model and predicts the test set)",
        key=f"results.top_losses.on.{run_dir.name}",
    ):
        return
    predictions = {int(p["index"]): p for p in report.get("predictions", [])}
    if len(predictions) != len(images):
        st.info("The report's predictions do not cover the test set: no mistakes to rank.")
        return
    truth = np.array([list(classes).index(str(predictions[i]["true"])) for i in range(len(images))])
    left, right = st.columns([1, 2])
    count = left.number_input(
        "Images", 1, 60, TOP_LOSSES_DEFAULT, key=f"results.top_losses.{run_dir.name}"
    )
    which = right.radio(
        "Map for",
        ("predicted class", "true class", "no map"),
        horizontal=True,
        key=f"results.top_losses_map.{run_dir.name}",
    )
    try:
        with st.spinner("Predicting the test set."):
            probabilities = _test_probabilities(str(run_dir), _model_version(run_dir), images)
        worst = top_losses(probabilities, truth, int(count))
    except FlowerdashError as error:
        show_error(error, context="Most confident mistakes")
        return
    if not worst:
        st.success("No test image is misclassified.")
        return
    rows = [row for row, _ in worst]
    predicted = [int(probabilities[row].argmax()) for row in rows]
    maps: Sequence[np.ndarray | None] = [None] * len(rows)
    if which != "no map":
        targets = predicted if which == "predicted class" else [int(truth[r]) for r in rows]
        try:
            maps = saliency_for(run_dir, images, rows, targets)
        except FlowerdashError as error:
            show_error(error, context="Saliency maps")
    captions = [
        f"#{row} · {classes[truth[row]]} → {classes[guess]} "
        f"{probabilities[row, guess]:.0%} · loss {loss:.2f}"
        for (row, loss), guess in zip(worst, predicted, strict=True)
    ]
    _map_grid([images[row] for row in rows], maps, captions)


def predict_maps_section(
    run_dir: Path, images: np.ndarray, captions: Sequence[str], probabilities: np.ndarray
) -> None:
    """Draw the Predict page's images with the map of their predicted class, on request."""
    if not st.toggle(
        "Show saliency maps (where the model looked for its answer)", key="predict.maps"
    ):
        return
    digest = "images:" + hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()
    predicted = tuple(int(row.argmax()) for row in probabilities)
    try:
        with st.spinner(MAP_SPINNER):
            maps = _maps(str(run_dir), _model_version(run_dir), digest, predicted, images)
    except FlowerdashError as error:
        show_error(error, context="Saliency maps")
        return
    columns = st.columns(GALLERY_COLUMNS)
    for position, (image, caption, saliency) in enumerate(zip(images, captions, maps, strict=True)):
        with columns[position % GALLERY_COLUMNS]:
            st.image(_display(image, saliency), caption=f"{caption} · map of its prediction")
