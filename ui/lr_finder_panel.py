"""The Train page's learning-rate finder: a button runs ``flowerdash lr-find`` in a child
process on the chosen data and settings, shows the loss-against-rate curve, and fills the
learning-rate box with the suggestion.

The widget's value is set in the button's callback, which Streamlit runs before the next
script run draws the widget (setting a drawn widget's key is an error). Everything the test
uses is read from the session state at the click.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from flowerdash.charts.saliency import lr_finder_figure
from flowerdash.data import format_shape
from flowerdash.errors import FlowerdashError
from flowerdash.lr_finder import RangeTest, describe, find_learning_rate_in_subprocess
from flowerdash.settings import TRAIN_PARAMS, param
from ui import state

RESULT_KEY = "flowerdash.train.lr_finder"
#: Bounds on the dashboard's range test (shared CPU): the CLI allows more.
UI_STEPS = 80
UI_MAX_SECONDS = 90.0


def _find(learning_rate_key: str, settings: Callable[[], dict[str, Any]]) -> None:
    """Button callback: run the range test, remember it, put the suggestion in the box."""
    dataset = state.current_dataset()
    options = {**state.current_augment_settings().to_dict(), **settings()}
    try:
        with st.spinner(
            f"Range test: up to {UI_STEPS} training steps or {UI_MAX_SECONDS:.0f} s on a "
            "throw-away copy of the model."
        ):
            result = find_learning_rate_in_subprocess(
                dataset.train_path,
                options,
                shape=format_shape(dataset.shape) if dataset.shape else None,
                steps=UI_STEPS,
                max_seconds=UI_MAX_SECONDS,
            )
    except FlowerdashError as error:
        st.session_state[RESULT_KEY] = str(error)
        return
    st.session_state[RESULT_KEY] = result
    if result.suggestion is not None:
        spec = param(TRAIN_PARAMS, "learning_rate")
        low, high = float(spec.minimum), float(spec.maximum)  # type: ignore[arg-type]
        st.session_state[learning_rate_key] = float(f"{min(max(result.suggestion, low), high):.2g}")


def lr_finder_panel(learning_rate_key: str, settings: Callable[[], dict[str, Any]]) -> None:
    """Draw the finder's button and its last result; ``settings`` returns the page's
    training settings at the click, ``learning_rate_key`` is the box's session-state key."""
    st.button(
        "Find a learning rate",
        key="train.lr_find",
        icon=":material/insights:",
        on_click=_find,
        args=(learning_rate_key, settings),
        help="A short range test: the rate grows from 1e-5 to 1 while a copy of the model "
        "trains a few batches; the rate where the loss falls fastest fills the box above.",
        width="stretch",
    )
    result = st.session_state.get(RESULT_KEY)
    if isinstance(result, str):
        st.error(f"Learning-rate finder: {result}")
    elif isinstance(result, RangeTest):
        text = describe(result)
        st.caption(f"{text[0].upper()}{text[1:]}.")
        st.plotly_chart(
            lr_finder_figure(
                result.rates, result.losses, result.suggestion, smoothed=result.smoothed, height=260
            ),
            key="train.lr_finder.figure",
            config={"displaylogo": False},
        )
