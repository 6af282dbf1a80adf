"""The Data page: choose the dataset and inspect what the engine read.

Layout only; see ``ui/data_overview.py`` (and ``ui/data_choice.py``).
"""

from ui import data_overview
from ui.layout import page_setup

page_setup("Data")
data_overview.render()
