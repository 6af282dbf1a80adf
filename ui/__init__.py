"""Streamlit helpers shared by the pages: session state, cached loaders, widgets, errors.

This package is the only place besides ``app.py`` and ``pages/`` that imports Streamlit; the
``flowerdash`` library never does.
"""
