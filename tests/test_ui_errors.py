"""Errors in the dashboard: the library's message as st.error, never a traceback."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def dataset_error_page() -> None:
    import streamlit as st

    from flowerdash.errors import DatasetError
    from ui.errors import errors_shown

    with errors_shown(context="Not loaded"):
        raise DatasetError("expected 785 values, found 3", path="train.csv", line=7)
    st.write("the page goes on")


def bug_page() -> None:
    from ui.errors import errors_shown

    with errors_shown():
        raise KeyError("oops")


def stop_page() -> None:
    import streamlit as st

    from ui.errors import errors_shown

    with errors_shown():
        st.stop()
    st.write("not reached")


def test_library_error_is_shown_with_its_message_and_the_page_goes_on() -> None:
    app = AppTest.from_function(dataset_error_page).run(timeout=60)
    assert [item.value for item in app.error] == [
        "Not loaded: train.csv, line 7: expected 785 values, found 3"
    ]
    assert not app.exception
    assert app.markdown[0].value == "the page goes on"


def test_unexpected_error_is_shown_as_a_bug_without_traceback() -> None:
    app = AppTest.from_function(bug_page).run(timeout=60)
    assert not app.exception
    message = app.error[0].value
    assert message.startswith("unexpected KeyError")
    assert "bug in flowerdash" in message
    assert "Traceback" not in message


def test_st_stop_is_not_swallowed() -> None:
    app = AppTest.from_function(stop_page).run(timeout=60)
    assert not app.error
    assert not app.markdown
