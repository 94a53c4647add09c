"""The cell gallery: thumbnails of the case's cells, grouped by class.

One section per class (its key, colour, name and count), each a wrapping grid of
thumbnails. Cells flagged for review carry an amber frame and "?" (the tooltip says
why); cells decided by hand a "✓" or "✎". Dragging a thumbnail onto another section, or
pressing a class key while thumbnails are selected (the window routes class keys here
when the gallery has focus), asks for a relabel (`relabel_requested`); a double click
asks to see the cell in its field (`cell_activated`). The gallery never changes the case
itself: it is rebuilt from the case the window gives it (`show_case`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from hemoscope.core import Box, Case, Cell, Taxonomy
from hemoscope.ui.deferred import Deferred
from hemoscope.ui.gallery_model import (
    UNCLASSIFIED,
    GalleryGroup,
    background,
    cell_crop,
    cell_tooltip,
    gallery_groups,
)
from hemoscope.ui.overlay import REVIEW_COLOUR
from hemoscope.ui.qimage import bgr_to_qimage

__all__ = ["MIME_CELL", "THUMB", "CellGallery"]

MIME_CELL = "application/x-hemoscope-cell"
THUMB = 72
ROLE_KEY = Qt.ItemDataRole.UserRole  # (field id, cell id)
ImageOf = Callable[[str], npt.NDArray[np.uint8] | None]


class CellGallery(QScrollArea):
    relabel_requested = Signal(str, str, str)  # field id, cell id, class id
    cell_activated = Signal(str, str)  # field id, cell id

    def __init__(self, *, taxonomy: Taxonomy, image_of: ImageOf, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("cellGallery")
        self.setWidgetResizable(True)
        self.taxonomy = taxonomy
        self._image_of = image_of
        self._thumbs: dict[tuple[str, str, Box, str, bool], QIcon] = {}
        self._fills: dict[str, tuple[int, int, int]] = {}  # field id -> background colour
        self._body = QWidget(self)
        self._layout = QVBoxLayout(self._body)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self._layout.setSpacing(2)
        self.setWidget(self._body)
        self.sections: dict[str, _ClassList] = {}
        self.headers: dict[str, QLabel] = {}
        self._case: Case | None = None
        self._refresh = Deferred(self._rebuild, widget=self)

    # -- showing -------------------------------------------------------------------------
    def show_case(self, case: Case | None) -> None:
        """Show `case`: on the next turn of the event loop, or when the gallery is shown."""
        self._case = case
        self._refresh.request()

    def flush(self) -> None:
        """Bring the thumbnails up to date now."""
        self._refresh.flush()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._refresh.shown()

    def _rebuild(self) -> None:
        groups = gallery_groups(self._case, self.taxonomy)
        if [g.class_id for g in groups] != list(self.sections):
            self._rebuild_sections(groups)
        for group in groups:
            self._fill(group)

    def set_taxonomy(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self.sections.clear()
        self.show_case(self._case)
        self.flush()

    def selected_cells(self) -> list[tuple[str, str]]:
        self.flush()
        return [
            tuple(item.data(ROLE_KEY))
            for section in self.sections.values()
            for item in section.selectedItems()
        ]

    def relabel_selected(self, class_id: str) -> int:
        """Ask to relabel the selected thumbnails; how many were asked."""
        chosen = self.selected_cells()
        for field_id, cell_id in chosen:
            self.relabel_requested.emit(field_id, cell_id, class_id)
        return len(chosen)

    def select(self, field_id: str, cell_id: str) -> None:
        if not self.isVisible():
            return
        self.flush()
        for section in self.sections.values():
            for row in range(section.count()):
                item = section.item(row)
                hit = tuple(item.data(ROLE_KEY)) == (field_id, cell_id)
                item.setSelected(hit)
                if hit:
                    section.setCurrentItem(item)
                    self.ensureWidgetVisible(section)

    # -- building ------------------------------------------------------------------------
    def _rebuild_sections(self, groups: list[GalleryGroup]) -> None:
        while self._layout.count():
            item = self._layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.sections, self.headers = {}, {}
        for group in groups:
            header = QLabel(self._body)
            header.setObjectName("galleryHeader")
            header.setTextFormat(Qt.TextFormat.RichText)
            section = _ClassList(group.class_id, self._body)
            section.dropped.connect(self._dropped)
            section.itemPressed.connect(lambda _item, keep=section: self._only_in(keep))
            section.itemDoubleClicked.connect(self._activated)
            self._layout.addWidget(header)
            self._layout.addWidget(section)
            self.sections[group.class_id] = section
            self.headers[group.class_id] = header
        self._layout.addStretch(1)

    def _fill(self, group: GalleryGroup) -> None:
        section = self.sections[group.class_id]
        header = self.headers[group.class_id]
        cls = self.taxonomy.get(group.class_id)
        if cls is None:
            header.setText(f"<b>Unclassified</b> ({len(group.entries)})")
        else:
            key = self.taxonomy.key_for(cls.id)
            header.setText(
                f'<span style="background:{cls.colour};">&nbsp;&nbsp;&nbsp;</span>&nbsp;'
                f"<b>{key}</b>&nbsp;&nbsp;{cls.display_name} ({len(group.entries)})"
            )
        selected = {tuple(i.data(ROLE_KEY)) for i in section.selectedItems()}
        section.clear()
        for entry in group.entries:
            item = QListWidgetItem(self._thumbnail(entry.field_id, entry.cell), "")
            item.setData(ROLE_KEY, (entry.field_id, entry.cell.id))
            item.setToolTip(cell_tooltip(entry.cell, entry.field_number, self.taxonomy))
            section.addItem(item)
            item.setSelected((entry.field_id, entry.cell.id) in selected)
        section.fit_height()

    def _thumbnail(self, field_id: str, cell: Cell) -> QIcon:
        mark = "?" if cell.pending_review else ("✎" if cell.corrected or cell.manual else "")
        key = (field_id, cell.id, cell.box, mark, cell.final_class is not None)
        icon = self._thumbs.get(key)
        if icon is None:
            image = self._image_of(field_id)
            fill = self._fills.get(field_id)
            if fill is None and image is not None:
                fill = self._fills[field_id] = background(image)
            icon = _make_thumbnail(image, cell.box, mark, fill)
            self._thumbs[key] = icon
        return icon

    # -- user actions --------------------------------------------------------------------
    def _only_in(self, section: _ClassList) -> None:
        """A click in one class clears the selection in the others (a key then relabels
        only what the technician sees selected), unless Ctrl or Shift extends it."""
        mods = QApplication.keyboardModifiers()
        if mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier):
            return
        for other in self.sections.values():
            if other is not section:
                other.clearSelection()

    def _dropped(self, field_id: str, cell_id: str, class_id: str) -> None:
        if class_id != UNCLASSIFIED:
            self.relabel_requested.emit(field_id, cell_id, class_id)

    def _activated(self, item: QListWidgetItem) -> None:
        field_id, cell_id = item.data(ROLE_KEY)
        self.cell_activated.emit(field_id, cell_id)


class _ClassList(QListWidget):
    """One class's thumbnails; a drag source and a drop target."""

    dropped = Signal(str, str, str)  # field id, cell id, this list's class id

    def __init__(self, class_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.class_id = class_id
        self.setObjectName("gallerySection")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setGridSize(QSize(THUMB + 8, THUMB + 8))
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

    def fit_height(self) -> None:
        per_row = max(1, self.viewport().width() // (THUMB + 8))
        rows = max(1, -(-self.count() // per_row))
        self.setFixedHeight(rows * (THUMB + 8) + 6 if self.count() else 28)

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
        for key in filter(None, data.split(";")):
            field_id, cell_id = key.split("/", 1)
            self.dropped.emit(field_id, cell_id, self.class_id)

    def _accept_if_cells(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(MIME_CELL) and event.source() is not self:
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()


def _make_thumbnail(
    image: npt.NDArray[np.uint8] | None, box: Box, mark: str, fill: tuple[int, int, int] | None
) -> QIcon:
    if image is None:
        pixmap = QPixmap(THUMB, THUMB)
        pixmap.fill(QColor("#cbd2d9"))
    else:
        pixmap = QPixmap.fromImage(bgr_to_qimage(cell_crop(image, box, THUMB, fill=fill)))
    if mark:
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if mark == "?":
            painter.setPen(QPen(REVIEW_COLOUR, 4))
            painter.drawRect(2, 2, THUMB - 4, THUMB - 4)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(REVIEW_COLOUR if mark == "?" else QColor("#ffffff"))
        painter.drawEllipse(THUMB - 22, 4, 18, 18)
        painter.setPen(QColor("#1f2933"))
        font = painter.font()
        font.setPixelSize(12)
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(THUMB - 22, 4, 18, 18, Qt.AlignmentFlag.AlignCenter, mark)
        painter.end()
    icon = QIcon(pixmap)
    icon.addPixmap(pixmap, QIcon.Mode.Selected)  # the stain's colours stay when selected
    return icon
