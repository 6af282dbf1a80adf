"""Keep Streamlit's after-run garbage collections cheap once Keras is loaded.

After every script run (each page visit, click and live-view refresh) Streamlit calls
``keras.backend.clear_session()`` when Keras is imported (a full ``gc.collect()``) and then
``gc.collect(2)`` again. Python's collector walks every tracked object: with TensorFlow and
Keras imported that is ~460,000 objects, about 0.3 s a collection on this machine, so a page
polling once a second spends most of a core collecting. Almost all of those objects are the
imported libraries, which live as long as the process: :func:`freeze_imported_objects` moves
them to the collector's permanent generation (``gc.freeze``), after which a collection walks
only what the scripts made since (measured by ``benchmarks/rerun_cost.py``).
"""

from __future__ import annotations

import gc
import sys

_modules_at_last_freeze = 0


def freeze_imported_objects() -> bool:
    """Freeze the objects alive now if modules were imported since the last freeze (collect the
    garbage first, so none is kept). Cheap when nothing was imported. Returns whether it froze."""
    global _modules_at_last_freeze
    if len(sys.modules) == _modules_at_last_freeze:
        return False
    gc.collect()
    gc.freeze()
    _modules_at_last_freeze = len(sys.modules)
    return True
