"""ui.garbage: the imported libraries leave the collector's reach; garbage is never kept."""

from __future__ import annotations

import gc
import sys
import types
import weakref

from ui import garbage


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_new_imports_are_frozen_and_garbage_is_collected_not_frozen(monkeypatch) -> None:
    garbage.freeze_imported_objects()  # whatever this process imported so far
    assert garbage.freeze_imported_objects() is False  # nothing new imported: nothing done
    dead = _Node()
    gone = weakref.ref(dead)
    del dead
    monkeypatch.setitem(sys.modules, "just_imported", types.ModuleType("just_imported"))
    frozen_before = gc.get_freeze_count()
    assert garbage.freeze_imported_objects() is True
    assert gone() is None  # the cycle was collected before the freeze
    assert gc.get_freeze_count() > frozen_before
    assert garbage.freeze_imported_objects() is False
