"""The card that follows the pointer over the cell map: the cell's thumbnail (cut from
its field's image, as the gallery cuts it), its class and why it is flagged."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from hemoscope.core import Cell, Taxonomy, reason_label, split_reasons
from hemoscope.ui.review.gallery_model import cell_crop
from hemoscope.ui.shared.qimage import bgr_to_qimage

__all__ = ["THUMB_PX", "HoverCard"]

THUMB_PX = 96
ImageOf = Callable[[str], npt.NDArray[np.uint8] | None]


class HoverCard(QWidget):
    """A small floating frame inside the map widget (never a window of its own)."""

    def __init__(self, image_of: ImageOf, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("cellMapHover")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAutoFillBackground(True)
        self.setStyleSheet("#cellMapHover { background: #ffffff; border: 1px solid #9aa5b1; }")
        self._image_of = image_of
        self.picture = QLabel(self)
        self.picture.setFixedSize(THUMB_PX, THUMB_PX)
        self.text = QLabel(self)
        self.text.setStyleSheet("color: #1f2933; font-size: 11px;")
        column = QVBoxLayout(self)
        column.setContentsMargins(4, 4, 4, 4)
        column.setSpacing(2)
        column.addWidget(self.picture)
        column.addWidget(self.text)
        self.key: tuple[str, str] | None = None
        self.hide()

    def show_cell(self, field_id: str, cell: Cell, taxonomy: Taxonomy, at: QPointF) -> None:
        key = (field_id, cell.id)
        if key != self.key:
            self.key = key
            image = self._image_of(field_id)
            if image is None:
                pixmap = QPixmap(THUMB_PX, THUMB_PX)
                pixmap.fill(Qt.GlobalColor.lightGray)
            else:
                pixmap = QPixmap.fromImage(bgr_to_qimage(cell_crop(image, cell.box, THUMB_PX)))
            self.picture.setPixmap(pixmap)
            self.text.setText(_describe(cell, taxonomy))
            self.adjustSize()
        self._place(at)
        self.show()
        self.raise_()

    def dismiss(self) -> None:
        self.key = None
        self.hide()

    def _place(self, at: QPointF) -> None:
        parent = self.parentWidget()
        x, y = int(at.x()) + 16, int(at.y()) + 16
        if parent is not None:  # stay inside the map
            if x + self.width() > parent.width():
                x = int(at.x()) - 16 - self.width()
            if y + self.height() > parent.height():
                y = int(at.y()) - 16 - self.height()
        self.move(max(0, x), max(0, y))


def _describe(cell: Cell, taxonomy: Taxonomy) -> str:
    def name(class_id: str | None) -> str:
        found = taxonomy.get(class_id) if class_id else None
        return found.display_name if found is not None else str(class_id)

    lines = [name(cell.effective_class)]
    if cell.corrected:
        lines.append(f"(classifier: {name(cell.auto_class)})")
    elif cell.probability is not None:
        lines[0] += f" {cell.probability * 100:.0f}%"
    reasons = split_reasons(cell.review_reason)
    if cell.review:
        lines.append("Flagged: " + (", ".join(reason_label(r) for r in reasons) or "review"))
    return "\n".join(lines)
