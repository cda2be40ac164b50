"""Regression test for the PySide6 6.12.0 crash on CPython < 3.12 (CONTRIBUTING.md, "Measured facts").

In that release every call of a Qt method that returns nothing dropped one reference from ``None``; a live plot
then aborted the process (``Fatal Python error: none_dealloc``) within a minute. If this test fails, the installed
PySide6 has the bug: pin another version (pyproject.toml excludes 6.12.0 on Python 3.11).
"""
from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QWidget

CALLS = 100_000


def test_void_qt_setters_do_not_steal_references_from_none(qapp):
    widget = QWidget()
    timer = QTimer()
    obj = QObject()
    before = sys.getrefcount(None)
    for i in range(CALLS):
        widget.setEnabled(True)  # void setters, the kind the bug hit
        timer.setInterval(i % 1000 + 1)
        obj.setObjectName("x")
    after = sys.getrefcount(None)
    # other code may take or drop a few references meanwhile; the bug drops one per call (300,000 here)
    assert after > before - 1000, (f"None lost {before - after} references over {3 * CALLS} void Qt calls: "
                                   "this PySide6 build has the 6.12.0 refcount bug")
