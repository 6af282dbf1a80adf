"""The dashboard's Streamlit code: one module per page (its ``render()`` draws the page; the
scripts in ``pages/`` and ``app.py`` call it after ``layout.page_setup``), their parts, and the
helpers the pages share: session state (``state``), cached loaders, widgets, errors, layout.

This package is the only place besides ``app.py`` and ``pages/`` that imports Streamlit; the
``flowerdash`` library never does. A page module never imports another page module.
"""
