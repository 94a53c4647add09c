"""At start: what to do when the case database fails its integrity check.

The technician gets the way out the store offers, in words: move the damaged file
aside (it is kept, renamed, for recovery) and start a new, empty database; or go on
without saving cases; or quit and restore the file from a backup. Nothing is deleted
and nothing is written to the damaged file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from PySide6.QtWidgets import QMessageBox, QWidget

from hemoscope.store import StoreCorruptError, quarantine

__all__ = ["Choice", "ask_what_to_do", "recover"]

log = logging.getLogger(__name__)

Choice = Literal["new", "memory", "quit"]


def ask_what_to_do(error: StoreCorruptError, parent: QWidget | None = None) -> Choice:
    """A modal question (the window is not shown yet); Escape means quit."""
    box = QMessageBox(parent)
    box.setObjectName("damagedStoreBox")
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle("Case database damaged")
    box.setText(f"The case database {error.path} failed its integrity check.")
    box.setInformativeText(
        "HemoScope has not written to it. Move it aside (it is kept, renamed, for "
        "recovery) and start a new, empty database; or continue without saving cases; "
        "or quit and restore the file from a backup."
    )
    box.setDetailedText("\n".join(error.problems))
    new = box.addButton("Move Aside and Start New", QMessageBox.ButtonRole.AcceptRole)
    memory = box.addButton("Continue Without Saving", QMessageBox.ButtonRole.ActionRole)
    quit_ = box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(quit_)
    box.setEscapeButton(quit_)
    box.exec()
    clicked = box.clickedButton()
    return "new" if clicked is new else "memory" if clicked is memory else "quit"


def recover(
    error: StoreCorruptError, choose: Callable[[StoreCorruptError], Choice] = ask_what_to_do
) -> tuple[Choice, Path | None]:
    """Ask, and move the damaged file aside if that is the choice; ``(choice, where the
    damaged file went)``."""
    choice = choose(error)
    moved = None
    if choice == "new":
        moved = quarantine(error.path)
        log.warning("damaged case database kept as %s; starting a new one", moved)
    return choice, moved
