"""Choosing a run on the Results and Predict pages: the latest by default, kept across pages."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from flowerdash import runs
from ui import state


def run_label(summary: runs.RunSummary) -> str:
    """Return how a run reads in a select box: when, dataset, model/mode, state, accuracy."""
    when = (
        time.strftime("%Y-%m-%d %H:%M", time.localtime(summary.started)) if summary.started else "?"
    )
    accuracy = "" if summary.accuracy is None else f" · accuracy {summary.accuracy:.1%}"
    details = " · ".join(x for x in (summary.dataset, summary.mode) if x)
    return f"{when} · {summary.run_id} · {details} · {summary.label}{accuracy}"


def runs_with(file_name: str) -> list[runs.RunSummary]:
    """Return the runs under the runs folder holding ``file_name``, newest first."""
    return [r for r in runs.list_runs(state.runs_dir()) if (r.path / file_name).exists()]


def _remember(key: str) -> None:
    state.set_chosen_run_id(st.session_state[key])


def choose_run(file_name: str, *, key: str) -> Path | None:
    """Draw a run select box over the runs that hold ``file_name``; return the chosen run.

    The choice is shared by the pages (the latest run until the user picks another); None when
    no run holds the file yet.
    """
    candidates = runs_with(file_name)
    if not candidates:
        return None
    by_id = {r.run_id: r for r in candidates}
    ids = list(by_id)
    remembered = state.chosen_run_id()
    if st.session_state.get(key) not in by_id:
        st.session_state[key] = remembered if remembered in by_id else ids[0]
    chosen = st.selectbox(
        "Run",
        ids,
        format_func=lambda run_id: run_label(by_id[run_id]),
        key=key,
        on_change=_remember,
        args=(key,),
        help="The latest run that got this far is chosen first.",
    )
    return by_id[chosen].path
