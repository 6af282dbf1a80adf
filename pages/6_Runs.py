"""The Runs page: every run in a table, validation curves overlaid, open or delete a run.

Layout only; see ``ui/run_history.py``.
"""

from ui import run_history
from ui.layout import page_setup

page_setup("Runs")
run_history.render()
