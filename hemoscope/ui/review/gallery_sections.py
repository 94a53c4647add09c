"""The gallery's parts: one class's section of thumbnails (a drag source and a drop
target) and the thumbnail of a cell (its crop, with the review or decision mark)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QByteArray, QMimeData, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QIcon,
    QPainter,
    QPen,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QListView,
    QListWidget,
    QListWidgetItem,
    QWidget,
)

from hemoscope.core import Box
from hemoscope.ui.review.gallery_model import cell_crop
from hemoscope.ui.shared.overlay import REVIEW_COLOUR
from hemoscope.ui.shared.qimage import bgr_to_qimage

__all__ = ["MIME_CELL", "ROLE_KEY", "THUMB", "ClassList", "make_thumbnail"]

MIME_CELL = "application/x-hemoscope-cell"
THUMB = 72
ROLE_KEY = Qt.ItemDataRole.UserRole  # (field id, cell id)


class ClassList(QListWidget):
    """One class's thumbnails; a drag source and a drop target."""

    dropped = Signal(object, str)  # list of (field id, cell id), this list's class id

    def __init__(self, class_id: str, parent: QWidget | None = None, size: int = THUMB) -> None:
        super().__init__(parent)
        self.class_id = class_id
        self.setObjectName("gallerySection")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.set_thumb_size(size)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setWrapping(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)

    def set_thumb_size(self, size: int) -> None:
        self.thumb = size
        self.setIconSize(QSize(size, size))
        self.setGridSize(QSize(size + 8, size + 8))

    def fit_height(self) -> None:
        per_row = max(1, self.viewport().width() // (self.thumb + 8))
        rows = max(1, -(-self.count() // per_row))
        self.setFixedHeight(rows * (self.thumb + 8) + 6 if self.count() else 28)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit_height()

    def mimeData(self, items: Sequence[QListWidgetItem]) -> QMimeData:
        mime = QMimeData()
        keys = ";".join(f"{f}/{c}" for f, c in (item.data(ROLE_KEY) for item in items))
        mime.setData(MIME_CELL, QByteArray(keys.encode()))
        return mime

    def mimeTypes(self) -> list[str]:
        return [MIME_CELL]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self._accept_if_cells(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self._accept_if_cells(event)

    def dropEvent(self, event: QDropEvent) -> None:
        if not event.mimeData().hasFormat(MIME_CELL) or event.source() is self:
            event.ignore()
            return
        # Copy, not move: the case changes and the gallery is rebuilt from it.
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        data = bytes(event.mimeData().data(MIME_CELL).data()).decode()
        cells = [tuple(key.split("/", 1)) for key in filter(None, data.split(";"))]
        self.dropped.emit(cells, self.class_id)

    def _accept_if_cells(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(MIME_CELL) and event.source() is not self:
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()


def make_thumbnail(
    image: npt.NDArray[np.uint8] | None,
    box: Box,
    mark: str,
    fill: tuple[int, int, int] | None,
    size: int = THUMB,
) -> QIcon:
    if image is None:
        pixmap = QPixmap(size, size)
        pixmap.fill(QColor("#cbd2d9"))
    else:
        pixmap = QPixmap.fromImage(bgr_to_qimage(cell_crop(image, box, size, fill=fill)))
    if mark:
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if mark == "?":
            painter.setPen(QPen(REVIEW_COLOUR, 4))
            painter.drawRect(2, 2, size - 4, size - 4)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(REVIEW_COLOUR if mark == "?" else QColor("#ffffff"))
        painter.drawEllipse(size - 22, 4, 18, 18)
        painter.setPen(QColor("#1f2933"))
        font = painter.font()
        font.setPixelSize(12)
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(size - 22, 4, 18, 18, Qt.AlignmentFlag.AlignCenter, mark)
        painter.end()
    icon = QIcon(pixmap)
    icon.addPixmap(pixmap, QIcon.Mode.Selected)  # the stain's colours stay when selected
    return icon
