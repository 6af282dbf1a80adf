"""The Train page: settings, Start, the live run (Stop, Resume).

Layout only; see ``ui/training.py``.
"""

from ui import training
from ui.layout import page_setup

page_setup("Train")
training.render()
