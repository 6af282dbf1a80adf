"""flowerdash dashboard: the entry point and Home page. Run with ``make run`` (or
``streamlit run app.py``).

The other pages live in ``pages/`` (Streamlit's multipage folder), each built like this one:
``page_setup`` then its ``ui`` module's ``render()``. Layout only; see ``ui/home.py``.
"""

from ui import home
from ui.layout import page_setup

page_setup()
home.render()
