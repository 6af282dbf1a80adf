"""The Results page's Export section: write SavedModel / ONNX / TFLite from the run, each checked
against ``model.keras`` on the test set, and offer each file with its agreement beside it.

The export runs in a child process (``flowerdash.export.export_in_subprocess``): converters
import much of TensorFlow, and a crash there must not take the dashboard down.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from flowerdash.errors import FlowerdashError
from flowerdash.export import (
    FORMATS,
    MODEL_CARD,
    download_path,
    export_in_subprocess,
    format_agreement,
    read_agreement,
)

NOTICE_KEY = "results.export.notice"
MIMES = {"saved_model": "application/zip", "onnx": "application/octet-stream"}


def _formats_key(run_dir: Path) -> str:
    return f"results.export.formats.{run_dir.name}"


def _export(run_dir: Path) -> None:
    """Export button callback: the formats are read from the session state at the click."""
    formats = st.session_state.get(_formats_key(run_dir)) or []
    try:
        with st.spinner("Exporting and checking each format on the test set (up to a minute)."):
            made = export_in_subprocess(run_dir, formats)
    except FlowerdashError as error:
        st.session_state[NOTICE_KEY] = ("error", f"Export failed: {error}")
        return
    st.session_state[NOTICE_KEY] = ("success", f"Exported {', '.join(made)}.")


def export_section(run_dir: Path) -> None:
    """Draw the format choice, the Export button and one download per exported format."""
    st.subheader("Export")
    st.caption(
        "Each export is reloaded with its own runtime (TensorFlow, onnxruntime, LiteRT), run on "
        "the test set and compared with model.keras. Every format takes raw 0-255 pixels, "
        "channels last; MODEL_CARD.md gives the full input contract."
    )
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    left.multiselect(
        "Formats",
        list(FORMATS),
        default=list(FORMATS),
        format_func=lambda name: FORMATS[name].title,
        key=_formats_key(run_dir),
    )
    right.button(
        "Export and check",
        key=f"results.export.go.{run_dir.name}",
        icon=":material/ios_share:",
        on_click=_export,
        args=(run_dir,),
        width="stretch",
    )
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        (st.error if notice[0] == "error" else st.success)(notice[1])
    agreement = read_agreement(run_dir)
    for name, spec in FORMATS.items():
        record = agreement.get(name)
        path = download_path(run_dir, name)
        if record is None or not path.exists():
            continue
        file_column, text_column = st.columns([1, 2], vertical_alignment="center")
        file_column.download_button(
            f"{spec.title} ({path.name})",
            path.read_bytes,
            f"{run_dir.name}-{path.name}",
            MIMES.get(name, "application/octet-stream"),
            key=f"results.export.download.{name}",
            on_click="ignore",
            icon=":material/download:",
            width="stretch",
        )
        ok = record["same_class"] == record["count"]
        text_column.markdown(
            f"{':material/check_circle:' if ok else ':material/warning:'} "
            f"{format_agreement(record)} ({record['runtime']} {record['runtime_version']}, "
            f"{record['bytes'] / 1e6:.1f} MB)"
        )
    card = run_dir / MODEL_CARD
    if card.exists():
        st.download_button(
            MODEL_CARD,
            card.read_bytes,
            f"{run_dir.name}-{MODEL_CARD}",
            "text/markdown",
            key="results.export.card",
            on_click="ignore",
            icon=":material/description:",
        )
        with st.expander("Model card"):
            st.markdown(card.read_text())
