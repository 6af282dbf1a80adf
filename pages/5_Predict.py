"""The Predict page: a run's model on uploaded images or test rows, top-k classes per image.

Layout only; see ``ui/prediction.py``.
"""

from ui import prediction
from ui.layout import page_setup

page_setup("Predict")
prediction.render()
