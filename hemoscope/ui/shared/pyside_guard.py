"""A guard against reference-count bugs of the installed PySide6 build on Python 3.11.

The PySide6 6.12.0 wheels (``cp310-abi3``) installed here drop references they do not
own: every void method (``label.setText(...)``, ``painter.save()``, ...) returns ``None``
without taking a reference to it, and emitting a signal with ``True`` as an argument
takes one away from ``True``. Since Python 3.12 these singletons are immortal and nothing
happens; on Python 3.11 their counts (a few hundred to a few thousand at start) fall to
zero after that many calls, and the interpreter aborts with "Fatal Python error:
none_dealloc: deallocating None" (or "bool_dealloc"). A station painting 30 frames a
second would die within seconds.

`protect_singletons` measures both bugs and, only when one is there, adds 2**60 to the
reference counts of ``None``, ``True`` and ``False`` (what Python 3.12 does by making them
immortal), which no session can use up. It is called when `hemoscope.ui` is imported. The
real fix is a PySide6 build that keeps its references, or Python 3.12 or later.
"""

from __future__ import annotations

import ctypes
import logging
import sys

__all__ = ["BALLAST", "protect_singletons", "pyside_drops_references"]

log = logging.getLogger(__name__)

BALLAST = 2**60
PROBES = 16
_done = False


def pyside_drops_references() -> list[str]:
    """Which singletons PySide6 calls were measured to lose references to."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        number = Signal(int)

    probe = _Probe()
    lost = []
    before = sys.getrefcount(None)
    for _ in range(PROBES):
        probe.setObjectName("probe")  # a void method
    if sys.getrefcount(None) < before - PROBES // 2:
        lost.append("None")
    before = sys.getrefcount(True)
    for _ in range(PROBES):
        probe.number.emit(True)
    if sys.getrefcount(True) < before - PROBES // 2:
        lost.append("True")
    return lost


def protect_singletons() -> bool:
    """Make None, True and False effectively immortal if this PySide6 build needs it;
    whether it did."""
    global _done
    if _done or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    lost = pyside_drops_references()
    if not lost:
        return False
    for singleton in (None, True, False):
        refcount = ctypes.c_ssize_t.from_address(id(singleton))  # ob_refcnt: first field
        refcount.value += BALLAST
    _done = True
    log.warning(
        "this PySide6 build drops references to %s (Python %d.%d); None, True and False "
        "were made immortal to keep the application alive. Use Python 3.12 or later, or "
        "another PySide6 build.",
        " and ".join(lost),
        *sys.version_info[:2],
    )
    return True
