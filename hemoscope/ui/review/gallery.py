"""The cell gallery: thumbnails of the case's cells, grouped by class.

One section per class (its key, colour, name and count), each a wrapping grid of
thumbnails (`gallery_sections`). Cells flagged for review carry an amber frame and "?"
(the tooltip says why); cells decided by hand a "✓" or "✎". Above them, a slider sets the
thumbnails' size and "Flagged only" keeps the cells flagged for review.

Dragging thumbnails onto another section, or pressing a class key while thumbnails are
selected (the window routes class keys here when the gallery has focus), asks for a
relabel (`relabel_requested`: all the cells at once, one undo step); the selection stays
on the relabelled cells. A click shows the cell in its field (`cell_activated`; the keys
stay with the gallery), unless Ctrl or Shift extends the selection. The gallery never
changes the case itself: it is rebuilt from the case the window gives it (`show_case`).
H lays the heat map of each selected cell's class over its thumbnail, Shift+H the
runner-up's (`gallery_maps`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidgetItem,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from hemoscope.core import Box, Case, Cell, Taxonomy
from hemoscope.ui.review.gallery_maps import GalleryMaps
from hemoscope.ui.review.gallery_model import (
    UNCLASSIFIED,
    GalleryGroup,
    background,
    cell_tooltip,
    gallery_groups,
)
from hemoscope.ui.review.gallery_sections import (
    MIME_CELL,
    ROLE_KEY,
    THUMB,
    ClassList,
    make_thumbnail,
)
from hemoscope.ui.shared.deferred import Deferred

__all__ = ["MIME_CELL", "ROLE_KEY", "THUMB", "CellGallery"]

SIZES = (48, 160)  # the size slider's range, pixels
TOOLS_HEIGHT = 32
ImageOf = Callable[[str], npt.NDArray[np.uint8] | None]
Key = tuple[str, str]


class CellGallery(QScrollArea):
    relabel_requested = Signal(object, str)  # list of (field id, cell id), class id
    cell_activated = Signal(str, str)  # field id, cell id

    def __init__(self, *, taxonomy: Taxonomy, image_of: ImageOf, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("cellGallery")
        self.setWidgetResizable(True)
        self.taxonomy = taxonomy
        self._image_of = image_of
        self._thumbs: dict[tuple[str, str, Box, str, bool, int], QIcon] = {}
        self._fills: dict[str, tuple[int, int, int]] = {}  # field id -> background colour
        self._body = QWidget(self)
        self._layout = QVBoxLayout(self._body)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self._layout.setSpacing(2)
        self._bar = QWidget(self)  # above the scrolled thumbnails: always in view
        self._bar.setObjectName("galleryTools")
        self.maps = GalleryMaps(self)  # H / Shift+H: heat maps over the selected thumbnails
        self._bar.setLayout(self._tools())
        self.setViewportMargins(0, TOOLS_HEIGHT, 0, 0)
        self.setWidget(self._body)
        self.sections: dict[str, ClassList] = {}
        self.headers: dict[str, QLabel] = {}
        self._case: Case | None = None
        self._keep: set[Key] = set()  # to select again once the case comes back
        self._refresh = Deferred(self._rebuild, widget=self)

    def _tools(self) -> QHBoxLayout:
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setObjectName("gallerySize")
        self.size_slider.setRange(*SIZES)
        self.size_slider.setValue(THUMB)
        self.size_slider.setToolTip("Size of the thumbnails")
        self.size_slider.valueChanged.connect(self._resized)
        self.flagged_only = QCheckBox("Flagged only")
        self.flagged_only.setObjectName("galleryFlaggedOnly")
        self.flagged_only.setToolTip("Only the cells flagged for review")
        self.flagged_only.toggled.connect(lambda _on: self._refresh.request())
        for tool in (self.size_slider, self.flagged_only):
            tool.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space and the keys stay the station's
        tools = QHBoxLayout()
        tools.setContentsMargins(8, 2, 8, 2)
        tools.addWidget(QLabel("Size"))
        tools.addWidget(self.size_slider, 1)
        tools.addWidget(self.flagged_only)
        tools.addWidget(self.maps.label, 1)
        return tools

    @property
    def thumb_size(self) -> int:
        return int(self.size_slider.value())

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

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        inside = self.contentsRect()
        self._bar.setGeometry(inside.left(), inside.top(), inside.width(), TOOLS_HEIGHT)

    def _rebuild(self) -> None:
        groups = gallery_groups(self._case, self.taxonomy)
        if self.flagged_only.isChecked():
            groups = [
                GalleryGroup(g.class_id, tuple(e for e in g.entries if e.cell.review))
                for g in groups
            ]
        selected = self._selected_keys() | self._keep
        self._keep = set()
        if [g.class_id for g in groups] != list(self.sections):
            self._rebuild_sections(groups)
        for group in groups:
            self._fill(group, selected)
        self.maps.refresh()

    def set_taxonomy(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self.sections.clear()
        self.show_case(self._case)
        self.flush()

    def selected_cells(self) -> list[Key]:
        self.flush()
        return [
            (str(k[0]), str(k[1]))
            for section in self.sections.values()
            for k in (item.data(ROLE_KEY) for item in section.selectedItems())
        ]

    def _selected_keys(self) -> set[Key]:
        return {
            (str(k[0]), str(k[1]))
            for section in self.sections.values()
            for k in (item.data(ROLE_KEY) for item in section.selectedItems())
        }

    def relabel_selected(self, class_id: str) -> int:
        """Ask to relabel the selected thumbnails (one request); how many were asked."""
        chosen = self.selected_cells()
        if chosen:
            self._keep = set(chosen)
            self.relabel_requested.emit(chosen, class_id)
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
            section = ClassList(group.class_id, self._body, self.thumb_size)
            section.dropped.connect(self._dropped)
            self.maps.watch(section)
            section.itemPressed.connect(lambda _item, keep=section: self._only_in(keep))
            section.itemClicked.connect(lambda item, keep=section: self._clicked(item, keep))
            section.itemDoubleClicked.connect(self._activated)
            self._layout.addWidget(header)
            self._layout.addWidget(section)
            self.sections[group.class_id] = section
            self.headers[group.class_id] = header
        self._layout.addStretch(1)

    def _fill(self, group: GalleryGroup, selected: set[Key]) -> None:
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
        size = self.thumb_size
        key = (field_id, cell.id, cell.box, mark, cell.final_class is not None, size)
        icon = self._thumbs.get(key)
        if icon is None:
            image = self._image_of(field_id)
            fill = self._fills.get(field_id)
            if fill is None and image is not None:
                fill = self._fills[field_id] = background(image)
            icon = make_thumbnail(image, cell.box, mark, fill, size)
            self._thumbs[key] = icon
        return icon

    def _resized(self, size: int) -> None:
        self._thumbs.clear()
        for section in self.sections.values():
            section.set_thumb_size(size)
        self._refresh.request()

    # -- user actions --------------------------------------------------------------------
    def _only_in(self, section: ClassList) -> None:
        """A click in one class clears the selection in the others (a key then relabels
        only what the technician sees selected), unless Ctrl or Shift extends it."""
        if _extending():
            return
        for other in self.sections.values():
            if other is not section:
                other.clearSelection()

    def _clicked(self, item: QListWidgetItem, section: ClassList) -> None:
        if not _extending():
            self._activated(item)
            section.setFocus()  # the class keys go on relabelling the selection

    def _dropped(self, cells: list[Key], class_id: str) -> None:
        if class_id != UNCLASSIFIED and cells:
            self._keep = set(cells)
            self.relabel_requested.emit(cells, class_id)

    def _activated(self, item: QListWidgetItem) -> None:
        field_id, cell_id = item.data(ROLE_KEY)
        self.cell_activated.emit(field_id, cell_id)


def _extending() -> bool:
    mods = QApplication.keyboardModifiers()
    return bool(mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
