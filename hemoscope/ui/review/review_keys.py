"""What a key pressed on the picture means, by mode (see `ReviewController`).

- live: Tab (Shift+Tab) goes to the next (previous) cell to review; the arrows move a
  stage that can be moved, half a field (Shift: a whole field).
- review: arrows go to the nearest cell that way; Tab (Shift+Tab) to the next cell
  flagged for review; Delete or Backspace removes the selected cell; Enter confirms it (or
  counts a cell marked out of the tally); Escape goes back to live; PgUp/PgDn step
  between captured fields; H toggles the heat map (class activation map) of the selected
  cell's class over it, Shift+H the runner-up class's.

Class keys and Space are window-wide actions, not handled here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent

from hemoscope.ui.review.review_model import Direction

if TYPE_CHECKING:
    from hemoscope.ui.review.review import ReviewController

__all__ = ["ARROWS", "MAP_KEY", "handle_key"]

MAP_KEY = Qt.Key.Key_H  # the heat map; with Shift, the runner-up's

ARROWS: dict[int, Direction] = {
    Qt.Key.Key_Left: "left",
    Qt.Key.Key_Right: "right",
    Qt.Key.Key_Up: "up",
    Qt.Key.Key_Down: "down",
}
_PLAIN_OR_SHIFT = (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier)


def handle_key(ctl: ReviewController, event: QKeyEvent) -> bool:
    """Do what `event` means now; whether it meant something."""
    key = event.key()
    mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    if ctl.mode == "live":
        return _live_key(ctl, key, mods)
    if ctl.mode != "review" or mods not in _PLAIN_OR_SHIFT:
        return False
    if key in ARROWS and mods == Qt.KeyboardModifier.NoModifier:
        ctl.move(ARROWS[key])
    elif key in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
        ctl.next_flagged(backwards=key == Qt.Key.Key_Backtab)
    elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
        ctl.delete_selected()
    elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
        ctl.confirm_selected()
    elif key == Qt.Key.Key_Escape:
        ctl.back_to_live()
    elif key in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
        ctl.step_field(-1 if key == Qt.Key.Key_PageUp else 1)
    elif key == MAP_KEY:
        ctl.class_map.toggle(2 if mods == Qt.KeyboardModifier.ShiftModifier else 1)
    else:
        return False
    return True


def _live_key(ctl: ReviewController, key: int, mods: Qt.KeyboardModifier) -> bool:
    if key in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
        ctl.next_flagged(backwards=key == Qt.Key.Key_Backtab)
        return True
    if key in ARROWS and mods in _PLAIN_OR_SHIFT:
        whole = mods == Qt.KeyboardModifier.ShiftModifier
        if not ctl.live.move_stage(ARROWS[key], whole=whole):
            ctl.message.emit("This source has no stage to move: move the slide by hand")
        return True
    return False
