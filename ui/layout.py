"""The frame every page shares: page config, the sidebar, and the photo credit."""

from __future__ import annotations

import streamlit as st

from ui.state import DatasetChoice, current_dataset, is_bundled

PAGE_ICON = "🌸"
ATTRIBUTION_PATH = "data/flower_photos_64/ATTRIBUTION.txt"
ATTRIBUTION_URL = "https://creativecommons.org/licenses/by/2.0/"


def page_setup(title: str | None = None) -> None:
    """Configure the page (title, icon, wide layout) and draw the shared sidebar.

    Call first thing on every page. ``title`` None is the home page.
    """
    st.set_page_config(
        page_title=f"{title} · flowerdash" if title else "flowerdash",
        page_icon=PAGE_ICON,
        layout="wide",
    )
    with st.sidebar:
        dataset_badge(current_dataset())
        st.divider()
        photo_credit()


def dataset_badge(choice: DatasetChoice) -> None:
    """A short sidebar summary of the dataset in use."""
    st.caption("Dataset in use")
    st.markdown(f"**{choice.name}**")
    files = [f"train: `{choice.train_path.name}`"]
    files.append(f"test: `{choice.test_path.name}`" if choice.test_path else "no test file")
    if choice.shape:
        files.append("shape " + "x".join(str(side) for side in choice.shape))
    st.caption(" · ".join(files))
    if not is_bundled(choice):
        st.page_link("pages/1_Data.py", label="Change on the Data page", icon=":material/dataset:")


def photo_credit() -> None:
    """The bundled photos' credit: CC BY 2.0, photographers listed in ATTRIBUTION.txt."""
    st.caption(
        "Bundled flower photos: TensorFlow *flower_photos*, "
        f"[CC BY 2.0]({ATTRIBUTION_URL}); the photographers are credited in "
        f"`{ATTRIBUTION_PATH}`."
    )
