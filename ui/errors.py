"""Showing errors in the dashboard: the library's message as ``st.error``, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from flowerdash.errors import FlowerdashError

logger = logging.getLogger("flowerdash.ui")


def show_error(error: BaseException, *, context: str | None = None) -> None:
    """Show ``error`` to the user as one ``st.error`` box.

    A ``FlowerdashError`` is shown with its own message (file, line, what was expected).
    Anything else is a bug: the box says so briefly and the traceback goes to the server log.
    """
    prefix = f"{context}: " if context else ""
    if isinstance(error, FlowerdashError):
        st.error(f"{prefix}{error}", icon=":material/error:")
        return
    logger.error("unexpected error in the dashboard", exc_info=error)
    st.error(
        f"{prefix}unexpected {type(error).__name__}: {error}. "
        "This is a bug in flowerdash; the details are in the server's log.",
        icon=":material/bug_report:",
    )


@contextmanager
def errors_shown(*, context: str | None = None) -> Iterator[None]:
    """Run the ``with`` block; if it raises, show the error (see ``show_error``) and go on.

    Streamlit's own control flow (``st.stop``, ``st.rerun``) passes through: it raises
    ``BaseException`` subclasses, which are not caught here.
    """
    try:
        yield
    except Exception as error:
        show_error(error, context=context)
