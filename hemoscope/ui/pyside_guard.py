"""A guard against a reference-count bug of the installed PySide6 build on Python 3.11.

The PySide6 6.12.0 wheels (``cp310-abi3``) return ``None`` from every void method
(``label.setText(...)``, ``painter.save()``, ...) without taking a reference to it, so
each such call takes one reference away from ``None`` for good. Since Python 3.12 ``None``
is immortal and nothing happens; on Python 3.11 its count (a few thousand at start) falls
to zero after a few thousand calls and the interpreter aborts with
"Fatal Python error: none_dealloc: deallocating None". A station painting 30 frames a
second would die within seconds.

`protect_none` measures the bug with one void call and, only when it is there, adds
2**60 to ``None``'s reference count (what Python 3.12 does by making it immortal), which
no session can use up. It is called when `hemoscope.ui` is imported. The real fix is a
PySide6 build that takes its references, or Python 3.12 or later.
"""

from __future__ import annotations

import ctypes
import logging
import sys

__all__ = ["BALLAST", "protect_none", "pyside_drops_none"]

log = logging.getLogger(__name__)

BALLAST = 2**60
_done = False


def pyside_drops_none() -> bool:
    """Whether a void PySide6 call takes a reference away from ``None`` (measured)."""
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(8):
        probe.setObjectName("probe")
    return sys.getrefcount(None) < before - 4


def protect_none() -> bool:
    """Make ``None`` effectively immortal if this PySide6 build needs it; whether it did."""
    global _done
    if _done or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if not pyside_drops_none():
        return False
    refcount = ctypes.c_ssize_t.from_address(id(None))  # ob_refcnt: the first field
    refcount.value += BALLAST
    _done = True
    log.warning(
        "this PySide6 build drops a reference to None on every void call (Python %d.%d); "
        "None was made immortal to keep the application alive. Use Python 3.12+ or "
        "another PySide6 build.",
        *sys.version_info[:2],
    )
    return True
