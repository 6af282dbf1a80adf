"""Plotly figure builders and image helpers for the dashboard's pages.

Pure functions of plain data returning figures or arrays; no Streamlit, no Keras. One module
per page family: ``data`` (Data and Augmentation pages), ``training``, ``results``.
"""
