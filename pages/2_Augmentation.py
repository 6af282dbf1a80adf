"""The Augmentation page: the parameters, and what training does to the images with them.

Layout only; see ``ui/augmentation.py``.
"""

from ui import augmentation
from ui.layout import page_setup

page_setup("Augmentation")
augmentation.render()
