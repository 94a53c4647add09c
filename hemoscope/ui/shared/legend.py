"""The key legend under the picture: which key gives which class, and the keys of the mode.

Always visible, so a technician never has to remember the keymap: one chip per class that
has a key (its key, a swatch of its box colour, its name), a last chip saying how many
classes have none (the class menu gives them: right-click a cell), and a line of the keys
that work now ("Space capture · Tab next flagged · ..."), which changes with the mode.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from hemoscope.core import DEFAULT_TAXONOMY, Taxonomy

__all__ = ["HINTS", "KeyLegend"]

HINTS = {
    "live": (
        "Space capture field  ·  ←→↑↓ move the stage (Shift: a whole field)  ·  Tab next to "
        "review  ·  Ctrl+M manual count  ·  Ctrl+wheel or Ctrl+= zoom"
    ),
    "review": (
        "Click a cell, then its key (goes on)  ·  Enter confirm  ·  Del delete  ·  drag: add "
        "a missed cell  ·  ←→↑↓ next cell  ·  Tab next flagged  ·  H heat map (Shift: runner-up)  "
        "·  Ctrl+Z undo  ·  Esc live  ·  Space: next field once all are reviewed"
    ),
    "manual": (
        "Press a class key for each cell seen (stops at the target)  ·  Ctrl+Z undo  ·  "
        "Ctrl+M or Esc: leave"
    ),
    "files": "Space capture image  ·  PgUp/PgDn previous/next image (also while reviewing)",
}


class KeyLegend(QFrame):
    def __init__(self, *, taxonomy: Taxonomy = DEFAULT_TAXONOMY, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("keyLegend")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(2)
        self.keys = QLabel(self)
        self.keys.setObjectName("legendKeys")
        self.keys.setTextFormat(Qt.TextFormat.RichText)
        self.keys.setWordWrap(True)  # chips wrap onto a second line in a narrow window
        layout.addWidget(self.keys)
        self.hint = QLabel(self)
        self.hint.setObjectName("legendHint")
        self.hint.setWordWrap(True)  # a long line of keys must not widen the window
        layout.addWidget(self.hint)
        self.set_taxonomy(taxonomy)
        self.set_mode("live")

    def set_taxonomy(self, taxonomy: Taxonomy) -> None:
        chips = []
        keyed = taxonomy.keyed()
        for cls in keyed:
            key = _html(taxonomy.key_for(cls.id))
            name = _html(cls.display_name.split(" (")[0]).replace(" ", "&nbsp;")
            chips.append(
                f'<span style="background:{cls.colour};">&nbsp;&nbsp;&nbsp;</span>'
                f"&nbsp;<b>{key}</b>&nbsp;{name}"
            )
        unkeyed = [c for c in taxonomy if c not in keyed]
        tip = [f"{taxonomy.key_for(c.id)}: {c.display_name}" for c in keyed]
        if unkeyed:
            chips.append(
                f'<span style="color:#616e7c;">+{len(unkeyed)}&nbsp;more:&nbsp;right-click'
                "&nbsp;a&nbsp;cell</span>"
            )
            tip.append("Without a key (right-click a cell, or Settings ▸ Keys):")
            tip += [f"  {c.display_name}" for c in unkeyed]
        self.keys.setText("&nbsp;&nbsp; ".join(chips))
        self.keys.setToolTip("\n".join(tip))

    def set_mode(self, mode: str) -> None:
        self.hint.setText(HINTS.get(mode, ""))


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
