"""The frame every page shares: page config, the sidebar, and the photo credit."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from flowerdash.data.csv_format import format_shape
from ui import garbage
from ui.state import DatasetChoice, current_dataset, repo_root, sync_dataset_with_url


@dataclass(frozen=True)
class PageInfo:
    """One page of the dashboard: its script, its name in the menu, icon and purpose."""

    script: str
    label: str
    icon: str
    purpose: str


#: Every page in the user's order (Home first). The sidebar menu and the home page's
#: "way through" are built from this list; pages whose file is absent are left out.
PAGES = (
    PageInfo("app.py", "Home", ":material/home:", "what flowerdash does"),
    PageInfo("pages/1_Data.py", "Data", ":material/dataset:", "load CSV files, look at the images"),
    PageInfo(
        "pages/2_Augmentation.py",
        "Augmentation",
        ":material/auto_awesome:",
        "preview what training will do to them",
    ),
    PageInfo(
        "pages/3_Train.py", "Train", ":material/model_training:", "train a model, watch it live"
    ),
    PageInfo(
        "pages/4_Results.py", "Results", ":material/insights:", "per-class report, confusions"
    ),
    PageInfo("pages/5_Predict.py", "Predict", ":material/image_search:", "classify new images"),
    PageInfo("pages/6_Runs.py", "Runs", ":material/history:", "compare, resume, delete runs"),
)
PAGE_ICON = "🌸"
TITLE_ICON = ":material/local_florist:"
ATTRIBUTION_PATH = "data/flower_photos_64/ATTRIBUTION.txt"
ATTRIBUTION_URL = "https://creativecommons.org/licenses/by/2.0/"


def page_setup(title: str | None = None) -> None:
    """Configure the page (title, icon, wide layout) and draw the shared sidebar.

    Call first thing on every page. ``title`` None is the home page. Libraries the last run
    imported (Keras, for a model) are frozen out of the garbage collector first (ui.garbage).
    """
    garbage.freeze_imported_objects()
    st.set_page_config(
        page_title=f"{title} · flowerdash" if title else "flowerdash",
        page_icon=PAGE_ICON,
        layout="wide",
    )
    sync_dataset_with_url()
    with st.sidebar:
        st.markdown(f"### {TITLE_ICON} flowerdash")
        for page in installed_pages():
            st.page_link(page.script, label=page.label, icon=page.icon)
        st.divider()
        dataset_badge(current_dataset())
        st.divider()
        photo_credit()


def installed_pages() -> list[PageInfo]:
    """The pages of ``PAGES`` whose script exists (pages are added independently)."""
    return [page for page in PAGES if (repo_root() / page.script).is_file()]


def dataset_badge(choice: DatasetChoice) -> None:
    """A short sidebar summary of the dataset in use."""
    st.caption("Dataset in use")
    st.markdown(f"**{choice.name}**")
    files = [f"train: `{choice.train_path.name}`"]
    files.append(f"test: `{choice.test_path.name}`" if choice.test_path else "no test file")
    if choice.shape:
        files.append("shape " + format_shape(choice.shape))
    st.caption(" · ".join(files))


def photo_credit() -> None:
    """The bundled photos' credit: CC BY 2.0, photographers listed in ATTRIBUTION.txt."""
    st.caption(
        "Bundled flower photos: TensorFlow *flower_photos*, "
        f"[CC BY 2.0]({ATTRIBUTION_URL}); the photographers are credited in "
        f"`{ATTRIBUTION_PATH}`."
    )
