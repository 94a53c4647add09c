"""Manual count mode: a keyboard differential counter for counting at the eyepiece.

A grid of tiles, one per class that has a key (counting at the eyepiece is by key): its
key, colour, name and the count made by hand in this case. The window sends each class
key here as one cell counted (through the same undo stack, the same case and the same
tally as captured fields); the tile of the key just pressed flashes so that the
technician, eyes on the eyepiece, hears (beep at the target) and can glance at what was
counted.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from hemoscope.core import DEFAULT_TAXONOMY, Case, Tally, Taxonomy
from hemoscope.ui.differential.tally_text import progress_text

__all__ = ["ManualCountPanel"]

COLUMNS = 4
FLASH_MS = 180


class ManualCountPanel(QWidget):
    undo_requested = Signal()  # Backspace: the last count was a slip
    leave_requested = Signal()  # Escape

    def __init__(self, *, taxonomy: Taxonomy = DEFAULT_TAXONOMY, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("manualCount")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.title = QLabel("Manual count — press a class key for each white cell seen", self)
        self.title.setObjectName("manualTitle")
        self.total = QLabel(self)
        self.total.setObjectName("manualTotal")
        self._grid = QGridLayout()
        self._grid.setSpacing(10)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.addWidget(self.title)
        layout.addWidget(self.total)
        layout.addLayout(self._grid)
        layout.addStretch(1)
        self.tiles: dict[str, _Tile] = {}
        self.set_taxonomy(taxonomy)

    def set_taxonomy(self, taxonomy: Taxonomy) -> None:
        for tile in self.tiles.values():
            tile.deleteLater()
        self.tiles = {}
        for i, cls in enumerate(taxonomy.keyed()):
            tile = _Tile(taxonomy.key_for(cls.id), cls.display_name, cls.colour, self)
            self._grid.addWidget(tile, i // COLUMNS, i % COLUMNS)
            self.tiles[cls.id] = tile

    def show_counts(self, case: Case | None, tally: Tally) -> None:
        manual = case.manual if case is not None else None
        for class_id, tile in self.tiles.items():
            tile.set_counts(
                0 if manual is None else manual.get_count(class_id), tally.count(class_id)
            )
        by_hand = tally.manual_total
        self.total.setText(f"{progress_text(tally)}  ·  {by_hand} counted by hand in this mode")

    def flash(self, class_id: str) -> None:
        tile = self.tiles.get(class_id)
        if tile is not None:
            tile.flash()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Backspace:
            self.undo_requested.emit()
        elif event.key() == Qt.Key.Key_Escape:
            self.leave_requested.emit()
        else:
            super().keyPressEvent(event)
            return
        event.accept()


class _Tile(QFrame):
    def __init__(self, key: str, name: str, colour: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("countTile")
        self.setProperty("flash", False)
        bar = QFrame(self)
        bar.setFixedWidth(8)
        bar.setStyleSheet(f"background: {colour}; border-radius: 3px;")
        self.key = QLabel(key, self)
        self.key.setObjectName("tileKey")
        self.name = QLabel(name, self)
        self.name.setObjectName("tileName")
        self.name.setWordWrap(True)
        self.count = QLabel("0", self)
        self.count.setObjectName("tileCount")
        self.count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.detail = QLabel("", self)
        self.detail.setObjectName("tileDetail")
        self.detail.setAlignment(Qt.AlignmentFlag.AlignRight)
        grid = QGridLayout(self)
        grid.setContentsMargins(8, 8, 12, 8)
        grid.addWidget(bar, 0, 0, 3, 1)
        grid.addWidget(self.key, 0, 1)
        grid.addWidget(self.count, 0, 2)
        grid.addWidget(self.name, 1, 1, 1, 2)
        grid.addWidget(self.detail, 2, 1, 1, 2)
        grid.setColumnStretch(2, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(lambda: self._set_flash(False))

    def set_counts(self, by_hand: int, total: int) -> None:
        self.count.setText(str(by_hand))
        self.detail.setText(f"{total} in case" if total != by_hand else "")

    def flash(self) -> None:
        self._set_flash(True)
        self._timer.start(FLASH_MS)

    def _set_flash(self, on: bool) -> None:
        self.setProperty("flash", on)
        self.style().unpolish(self)
        self.style().polish(self)
