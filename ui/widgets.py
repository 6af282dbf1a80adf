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


# Each widget takes its starting value from session state (seeded by ``settings_widgets``), never
# from a ``value=`` argument, so that ``reset_widgets`` can set it without Streamlit's warning.


def slider_format(step: float | None) -> str:
    """A printf format showing as many decimals as ``step`` has (``1.0`` -> ``%.0f``)."""
    if not step:
        return "%.2f"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"%.{decimals}f"


def _float_widget(spec: ParamSpec, key: str, disabled: bool) -> float:
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
        )
    )


def _int_widget(spec: ParamSpec, key: str, disabled: bool) -> int:
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
        )
    )


def _bool_widget(spec: ParamSpec, key: str, disabled: bool) -> bool:
    return bool(st.toggle(widget_label(spec), help=_help(spec), key=key, disabled=disabled))


def _choice_widget(spec: ParamSpec, key: str, disabled: bool) -> str:
    choices = list(spec.choices)
    return str(
        st.selectbox(
            widget_label(spec),
            choices,
            help=_help(spec),
            key=key,
            disabled=disabled,
        )
    )


WIDGET_FOR_KIND: dict[str, Callable[[ParamSpec, str, bool], Any]] = {
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
) -> dict[str, Any]:
    """Draw one widget per spec, starting from ``values``; return the values the user set.

    Widgets are drawn in the current container (call inside ``st.sidebar``, a column or a form).
    A widget's own session-state value wins over ``values`` after its first run, as usual in
    Streamlit; ``reset_widgets`` puts them back to the defaults.
    """
    chosen: dict[str, Any] = {}
    for spec in specs:
        key = widget_key(spec, key_prefix)
        if key not in st.session_state:
            st.session_state[key] = values.get(spec.name, spec.default)
        chosen[spec.name] = WIDGET_FOR_KIND[spec.kind](spec, key, disabled)
    return chosen


def reset_widgets(specs: Sequence[ParamSpec], *, key_prefix: str) -> None:
    """Put every widget of ``specs`` back to its declared default (use as a button callback)."""
    for spec in specs:
        st.session_state[widget_key(spec, key_prefix)] = spec.default
