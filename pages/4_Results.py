"""The Results page: curves, per-class table, confusion matrix and its images, downloads.

Layout only; see ``ui/results.py``.
"""

from ui import results
from ui.layout import page_setup

page_setup("Results")
results.render()
