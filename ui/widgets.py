"""Widgets generated from declared settings: one ``ParamSpec`` kind -> one Streamlit widget.

The declarations (``flowerdash.augment.AUGMENT_PARAMS``, ``flowerdash.settings.TRAIN_PARAMS``)
hold label, unit, limits, default and help text; this module only maps each kind to a widget
(albumentations-demo style), so a new parameter needs no page code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import streamlit as st

from flowerdash.settings import ParamSpec


def widget_label(spec: ParamSpec) -> str:
    """The widget's label: the setting's label and its unit, e.g. ``Rotation (degrees)``."""
    # A unit the label already names ("Epochs" in epochs) is not repeated.
    if not spec.unit or spec.unit.lower() in spec.label.lower():
        return spec.label
    return f"{spec.label} ({spec.unit})"


def widget_key(spec: ParamSpec, prefix: str) -> str:
    """The session-state key of ``spec``'s widget (stable, so tests can find it)."""
    return f"{prefix}.{spec.name}"


def _help(spec: ParamSpec) -> str:
    default = f"Default: {spec.default}{' ' + spec.unit if spec.unit else ''}."
    return f"{spec.help} {default}"


OnChange = Callable[[], None] | None
#: A setting keeps its value for the whole session, also while its page is not shown (by default
#: Streamlit forgets a widget's value when the user opens another page).
PERSIST = "session"

# Each widget takes its starting value from session state (seeded by ``settings_widgets``), never
# from a ``value=`` argument, so that ``reset_widgets`` can set it without Streamlit's warning.


def slider_format(step: float | None) -> str:
    """A printf format showing as many decimals as ``step`` has (``1.0`` -> ``%.0f``)."""
    if not step:
        return "%.2f"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"%.{decimals}f"


def _float_widget(spec: ParamSpec, key: str, disabled: bool, on_change: OnChange) -> float:
    return float(
        st.slider(
            widget_label(spec),
            min_value=float(spec.minimum if spec.minimum is not None else 0.0),
            max_value=float(spec.maximum if spec.maximum is not None else 1.0),
            step=float(spec.step) if spec.step is not None else None,
            format=slider_format(spec.step),
            help=_help(spec),
            key=key,
            disabled=disabled,
            on_change=on_change,
            persist_state=PERSIST,
        )
    )


def _int_widget(spec: ParamSpec, key: str, disabled: bool, on_change: OnChange) -> int:
    bounded = spec.minimum is not None and spec.maximum is not None
    if bounded and spec.maximum - spec.minimum <= 200:  # type: ignore[operator]
        return int(
            st.slider(
                widget_label(spec),
                min_value=int(spec.minimum),  # type: ignore[arg-type]
                max_value=int(spec.maximum),  # type: ignore[arg-type]
                step=int(spec.step or 1),
                help=_help(spec),
                key=key,
                disabled=disabled,
                on_change=on_change,
                persist_state=PERSIST,
            )
        )
    return int(
        st.number_input(
            widget_label(spec),
            min_value=None if spec.minimum is None else int(spec.minimum),
            max_value=None if spec.maximum is None else int(spec.maximum),
            step=int(spec.step or 1),
            help=_help(spec),
            key=key,
            disabled=disabled,
            on_change=on_change,
            persist_state=PERSIST,
        )
    )


def _bool_widget(spec: ParamSpec, key: str, disabled: bool, on_change: OnChange) -> bool:
    return bool(
        st.toggle(
            widget_label(spec),
            help=_help(spec),
            key=key,
            disabled=disabled,
            on_change=on_change,
            persist_state=PERSIST,
        )
    )


def _choice_widget(spec: ParamSpec, key: str, disabled: bool, on_change: OnChange) -> str:
    choices = list(spec.choices)
    return str(
        st.selectbox(
            widget_label(spec),
            choices,
            help=_help(spec),
            key=key,
            disabled=disabled,
            on_change=on_change,
            persist_state=PERSIST,
        )
    )


WIDGET_FOR_KIND: dict[str, Callable[[ParamSpec, str, bool, OnChange], Any]] = {
    "float": _float_widget,
    "int": _int_widget,
    "bool": _bool_widget,
    "choice": _choice_widget,
}


def settings_widgets(
    specs: Sequence[ParamSpec],
    values: Mapping[str, Any],
    *,
    key_prefix: str,
    disabled: bool = False,
    on_change: OnChange = None,
) -> dict[str, Any]:
    """Draw one widget per spec, starting from ``values``; return the values the user set.

    Widgets are drawn in the current container (call inside ``st.sidebar``, a column or a form).
    A widget's own session-state value wins over ``values`` after its first run, as usual in
    Streamlit; ``reset_widgets`` puts them back to the defaults. ``on_change`` is called (before
    the script reruns) when the user changes any of them: read the values with
    ``settings_values``.
    """
    chosen: dict[str, Any] = {}
    for spec in specs:
        key = widget_key(spec, key_prefix)
        if key not in st.session_state:
            st.session_state[key] = values.get(spec.name, spec.default)
        chosen[spec.name] = WIDGET_FOR_KIND[spec.kind](spec, key, disabled, on_change)
    return chosen


def settings_values(specs: Sequence[ParamSpec], *, key_prefix: str) -> dict[str, Any]:
    """Return the values the widgets of ``specs`` hold now in the session state (a spec's
    default where its widget was never drawn).

    A button callback must read the settings it acts on here, when it is called: arguments bound
    at the last script run miss a change that reaches the server together with the click (typed
    into a box, then the button clicked at once). Streamlit stores the widgets' new values in the
    session state before it calls any callback. Raises ConfigError (from ``ParamSpec.check``)
    on a value out of its limits.
    """
    return {
        spec.name: spec.check(st.session_state.get(widget_key(spec, key_prefix), spec.default))
        for spec in specs
    }


def reset_widgets(specs: Sequence[ParamSpec], *, key_prefix: str) -> None:
    """Put every widget of ``specs`` back to its declared default (use as a button callback)."""
    for spec in specs:
        st.session_state[widget_key(spec, key_prefix)] = spec.default
