"""How the GUI tells the technician that files could not be opened.

The main window takes an `ErrorReporter`, a callable given the list of failures of one
open operation. The default shows one message box per operation; tests pass a list's
``extend`` or a mock, and the smoke test logs the failures instead.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

__all__ = [
    "ErrorReporter",
    "LoadFailure",
    "MessageBoxErrorReporter",
    "log_failures",
    "summary",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadFailure:
    """A file that could not be opened, and why (in words for the technician)."""

    path: Path
    reason: str


ErrorReporter = Callable[[Sequence[LoadFailure]], None]


def summary(failures: Sequence[LoadFailure]) -> str:
    """One line for the status bar, e.g. ``Could not open 2 files: a.png, b.jpg``."""
    names = ", ".join(f.path.name or str(f.path) for f in failures[:3])
    if len(failures) > 3:
        names += f" and {len(failures) - 3} more"
    if len(failures) == 1:
        return f"Could not open {names}: {failures[0].reason}"
    return f"Could not open {len(failures)} files: {names}"


def log_failures(failures: Sequence[LoadFailure]) -> None:
    """An `ErrorReporter` that only writes to the log (used by the smoke test)."""
    for failure in failures:
        log.error("cannot open %s: %s", failure.path, failure.reason)


class MessageBoxErrorReporter:
    """An `ErrorReporter` that lists the failures in a window-modal message box.

    The box is opened with ``open()``, not ``exec()``: it does not start a nested event
    loop, and images that could be read go on loading behind it.
    """

    def __init__(self, parent: QWidget) -> None:
        self._parent = parent

    def __call__(self, failures: Sequence[LoadFailure]) -> None:
        if not failures:
            return
        box = QMessageBox(self._parent)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Cannot open images")
        count = len(failures)
        box.setText(
            "This file could not be opened:"
            if count == 1
            else f"These {count} files could not be opened:"
        )
        items = "".join(
            f"<li><b>{html.escape(f.path.name or str(f.path))}</b> — {html.escape(f.reason)}</li>"
            for f in failures[:12]
        )
        more = f"<p>… and {count - 12} more (see Show Details).</p>" if count > 12 else ""
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setInformativeText(f"<ul>{items}</ul>{more}")
        box.setDetailedText("\n".join(f"{f.path}: {f.reason}" for f in failures))
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        box.open()
