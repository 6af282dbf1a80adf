"""Widgets generated from ParamSpec declarations: one widget per kind, defaults, reset."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from ui.widgets import slider_format


def settings_page() -> None:
    import streamlit as st

    from flowerdash.settings import ParamSpec
    from ui.widgets import reset_widgets, settings_widgets

    specs = (
        ParamSpec("angle", "Angle", "float", 20.0, "Turn.", unit="degrees", minimum=0.0,
                  maximum=90.0, step=1.0),
        ParamSpec("epochs", "Epochs", "int", 75, "Passes.", minimum=1, maximum=100, step=1),
        ParamSpec("steps", "Steps", "int", 500, "Many.", minimum=1, maximum=100000, step=1),
        ParamSpec("flip", "Flip", "bool", True, "Mirror."),
        ParamSpec("fill", "Fill", "choice", "nearest", "Edges.", choices=("nearest", "wrap")),
    )  # fmt: skip
    values = settings_widgets(specs, {"epochs": 10}, key_prefix="t")
    st.button("Reset", on_click=reset_widgets, args=(specs,), kwargs={"key_prefix": "t"})
    st.session_state["chosen"] = values


def test_each_kind_gets_its_widget_with_label_unit_and_start_value() -> None:
    app = AppTest.from_function(settings_page).run(timeout=60)
    assert app.slider(key="t.angle").label == "Angle (degrees)"
    assert app.slider(key="t.angle").value == 20.0
    assert app.slider(key="t.epochs").value == 10  # from the values passed in
    assert app.number_input(key="t.steps").value == 500  # too wide a range for a slider
    assert app.toggle(key="t.flip").value is True
    assert app.selectbox(key="t.fill").options == ["nearest", "wrap"]


def test_widget_help_says_the_default() -> None:
    app = AppTest.from_function(settings_page).run(timeout=60)
    assert app.slider(key="t.angle").help == "Turn. Default: 20.0 degrees."


def test_returned_values_follow_the_widgets() -> None:
    app = AppTest.from_function(settings_page).run(timeout=60)
    app.slider(key="t.angle").set_value(45.0)
    app.selectbox(key="t.fill").set_value("wrap").run()
    assert app.session_state["chosen"] == {
        "angle": 45.0,
        "epochs": 10,
        "steps": 500,
        "flip": True,
        "fill": "wrap",
    }


def test_reset_puts_the_declared_defaults_back() -> None:
    app = AppTest.from_function(settings_page).run(timeout=60)
    app.slider(key="t.angle").set_value(45.0).run()
    app.button[0].click().run()
    assert app.session_state["chosen"]["angle"] == 20.0
    assert app.session_state["chosen"]["epochs"] == 75  # the declared default, not the start


def test_slider_format_shows_the_step_decimals() -> None:
    assert slider_format(1.0) == "%.0f"
    assert slider_format(0.01) == "%.2f"
    assert slider_format(0.1) == "%.1f"


def test_label_does_not_repeat_a_unit_it_already_names() -> None:
    from flowerdash.settings import ParamSpec
    from ui.widgets import widget_label

    epochs = ParamSpec("epochs", "Epochs", "int", 75, "Passes.", unit="epochs", minimum=1)
    batch = ParamSpec("batch", "Batch size", "int", 32, "Images.", unit="images", minimum=1)
    assert widget_label(epochs) == "Epochs"
    assert widget_label(batch) == "Batch size (images)"
