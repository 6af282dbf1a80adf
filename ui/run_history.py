"""The Runs page: all runs in a table, validation curves overlaid, open or delete a run."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from flowerdash import runs
from flowerdash.charts.training import runs_overlay_figure
from flowerdash.errors import FlowerdashError
from ui import state
from ui.errors import show_error

OVERLAY_METRICS = {
    "val_accuracy": "validation accuracy",
    "val_loss": "validation loss",
    "accuracy": "training accuracy",
    "loss": "training loss",
}
OVERLAY_DEFAULT_COUNT = 3
PENDING_DELETE_KEY = "runs.pending_delete"


def runs_table(summaries: list[runs.RunSummary]) -> pd.DataFrame:
    """Return one row per run: when, dataset, model, mode, epochs, state, final accuracy."""
    return pd.DataFrame(
        {
            "started": [
                datetime.fromtimestamp(r.started) if r.started else None for r in summaries
            ],
            "run": [r.run_id for r in summaries],
            "dataset": [r.dataset for r in summaries],
            "model": [r.model for r in summaries],
            "mode": [r.mode for r in summaries],
            "epochs": [f"{r.epochs_done} of {r.epochs or '?'}" for r in summaries],
            "state": [r.label for r in summaries],
            "accuracy": [r.accuracy for r in summaries],
        }
    )


def overlay_section(summaries: list[runs.RunSummary]) -> None:
    """Draw the multiselect of runs and their overlaid curves."""
    st.subheader("Compare runs")
    with_history = [r for r in summaries if (r.path / runs.HISTORY).exists() and not r.damage]
    if not with_history:
        st.caption("No run has finished an epoch yet.")
        return
    ids = [r.run_id for r in with_history]
    chosen_before = st.session_state.get("runs.overlay", ids[:OVERLAY_DEFAULT_COUNT])
    st.session_state["runs.overlay"] = [i for i in chosen_before if i in ids]  # minus deleted
    left, right = st.columns([3, 1])
    chosen = left.multiselect("Runs", ids, key="runs.overlay")
    metric = right.selectbox(
        "Curve", list(OVERLAY_METRICS), format_func=OVERLAY_METRICS.get, key="runs.metric"
    )
    by_id = {r.run_id: r for r in with_history}
    histories = {
        f"{run_id} ({by_id[run_id].mode or '?'}, {by_id[run_id].state})": runs.read_history(
            by_id[run_id].path
        ).frame()
        for run_id in chosen
    }
    st.plotly_chart(
        runs_overlay_figure(histories, metric),
        key="runs.overlay_chart",
        config={"displaylogo": False},
    )


def _open_in_train_page() -> None:
    state.set_train_run(state.runs_dir() / st.session_state["runs.manage"])


def _ask_delete() -> None:
    st.session_state[PENDING_DELETE_KEY] = st.session_state["runs.manage"]


def _cancel_delete() -> None:
    st.session_state.pop(PENDING_DELETE_KEY, None)


def _delete(run_id: str) -> None:
    """Confirm button callback: delete ``run_id``, the run its question names, only if that is
    still the run waiting for confirmation when the click arrives (a "Delete…" of another run
    in between replaces the question; a click on the old one then deletes nothing)."""
    if st.session_state.get(PENDING_DELETE_KEY) != run_id:
        return
    st.session_state.pop(PENDING_DELETE_KEY, None)
    try:
        runs.delete_run(state.runs_dir() / run_id)
    except FlowerdashError as error:
        st.session_state["runs.delete_error"] = str(error)
    else:
        st.session_state["runs.deleted"] = run_id


def manage_section(summaries: list[runs.RunSummary]) -> None:
    """Draw the one-run actions: open it on the Train page (watch, resume), delete it."""
    st.subheader("One run")
    ids = [r.run_id for r in summaries]
    if st.session_state.get("runs.manage") not in ids:
        st.session_state.pop("runs.manage", None)
    st.selectbox("Run", ids, key="runs.manage")
    left, right, _ = st.columns([1, 1, 2])
    if left.button(
        "Open in Train",
        key="runs.open",
        icon=":material/model_training:",
        on_click=_open_in_train_page,
        help="Watch it, stop it, or resume it if it was stopped or interrupted.",
        width="stretch",
    ):
        st.switch_page("pages/3_Train.py")
    right.button(
        "Delete…",
        icon=":material/delete:",
        on_click=_ask_delete,
        key="runs.delete",
        width="stretch",
    )
    pending = st.session_state.get(PENDING_DELETE_KEY)
    if pending:
        with st.container(border=True):
            st.warning(
                f"Delete run **{pending}** and every file in it (model, report, history)? "
                "This cannot be undone.",
                icon=":material/warning:",
            )
            yes, no, _ = st.columns([1, 1, 3])
            # The button is the question's: its key and argument are the run it names.
            yes.button(
                "Delete it",
                type="primary",
                on_click=_delete,
                args=(pending,),
                key=f"runs.confirm.{pending}",
            )
            no.button("Cancel", on_click=_cancel_delete, key="runs.cancel")
    error = st.session_state.pop("runs.delete_error", None)
    if error:
        st.error(f"Not deleted: {error}", icon=":material/error:")
    deleted = st.session_state.pop("runs.deleted", None)
    if deleted:
        st.success(f"Deleted run {deleted}.", icon=":material/check:")


def render() -> None:
    """Draw the Runs page."""
    st.title("Runs")
    try:
        summaries = runs.list_runs(state.runs_dir())
    except FlowerdashError as error:
        show_error(error)
        return
    if not summaries:
        st.info("No training runs yet.")
        st.page_link("pages/3_Train.py", label="Train a model", icon=":material/model_training:")
        return
    st.dataframe(
        runs_table(summaries),
        hide_index=True,
        column_config={
            "started": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "accuracy": st.column_config.ProgressColumn(
                "final accuracy", min_value=0.0, max_value=1.0, format="percent"
            ),
        },
    )
    st.caption(
        "Final accuracy: on the test set for runs with a report, else the last validation "
        "accuracy. Runs are kept in " + f"`{state.runs_dir()}`."
    )
    overlay_section(summaries)
    manage_section(summaries)
