"""Why this class, in the gallery: the class activation map over the selected thumbnails.

With a thumbnail selected, H shows it as the classifier saw it (the crop rule's square,
wider than the plain thumbnail) with the heat map of the cell's class laid over it,
Shift+H the runner-up class's; the same key again takes them away. The maps follow the selection
(a thumbnail no longer selected gets its plain picture back), each thumbnail says whose
map it carries in a band at its foot, and the label in the gallery's tool bar too. The
maps come from the station's `ClassMapService` (computed off the GUI thread, kept per
cell); a thumbnail gets its map when it is ready.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QKeyEvent, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QListWidgetItem, QSizePolicy

from hemoscope.core import Cell, Field
from hemoscope.ui.review.class_map_overlay import RANKS, map_class
from hemoscope.ui.review.class_map_service import ClassMapService, find_service
from hemoscope.ui.review.gallery_sections import ROLE_KEY, ClassList
from hemoscope.ui.review.review_keys import MAP_KEY
from hemoscope.vision.class_maps import CellMaps

if TYPE_CHECKING:
    from hemoscope.ui.review.gallery import CellGallery

__all__ = ["GalleryMaps", "map_thumbnail"]

Key = tuple[str, str]


def map_thumbnail(maps: CellMaps, class_id: str, size: int) -> QPixmap:
    """A `size` x `size` thumbnail of the crop the classifier saw (wider than the plain
    thumbnail: the heat may lie round the cell), with `class_id`'s map laid over it."""
    rgb = np.ascontiguousarray(maps.blended(class_id))
    side = rgb.shape[0]
    image = QImage(rgb.data, side, side, side * 3, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(
        image.scaled(
            size,
            size,
            Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    )


class GalleryMaps(QObject):
    def __init__(self, gallery: CellGallery) -> None:
        super().__init__(gallery)
        self.gallery = gallery
        self.rank = 0  # 0: no maps, 1: the class shown, 2: the runner-up
        self.label = QLabel()
        self.label.setObjectName("galleryMapLabel")
        # takes the room left beside the size slider, never the slider's own
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._service: ClassMapService | None = None
        self._shown: dict[Key, str] = {}  # thumbnails carrying a map: whose

    def service(self) -> ClassMapService | None:
        if self._service is None:
            self._service = find_service(self.gallery)
            if self._service is not None:
                self._service.ready.connect(lambda _f, _c: self.refresh())
        return self._service

    def watch(self, section: ClassList) -> None:
        section.installEventFilter(self)
        section.itemSelectionChanged.connect(self.refresh)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            if event.key() == MAP_KEY and mods in (
                Qt.KeyboardModifier.NoModifier,
                Qt.KeyboardModifier.ShiftModifier,
            ):
                self.toggle(2 if mods == Qt.KeyboardModifier.ShiftModifier else 1)
                return True
        return super().eventFilter(watched, event)

    def toggle(self, rank: int) -> None:
        self.rank = 0 if self.rank == rank else rank
        self.refresh()

    def shown_on(self, key: Key) -> str | None:
        """The class whose map the thumbnail of `key` (field id, cell id) carries."""
        return self._shown.get(key)

    def refresh(self) -> None:
        """Maps over the selected thumbnails (asked for where missing), none elsewhere."""
        items = self._items()
        selected = {k for k, item in items.items() if item.isSelected()} if self.rank else set()
        for key in [k for k in self._shown if k not in selected]:
            del self._shown[key]
            item, cell = items.get(key), self._cell(key)
            if item is not None and cell is not None:
                item.setIcon(self.gallery._thumbnail(key[0], cell))
        service = self.service() if selected else None
        names: set[str] = set()
        waiting = False
        for key in sorted(selected):
            cell = self._cell(key)
            if cell is None or service is None:
                continue
            maps = service.maps(key[0], cell)
            if maps is None:
                field = self._field(key[0])
                if field is not None:
                    service.request(field, [cell], self.gallery._image_of(key[0]))
                waiting = True
                continue
            class_id = map_class(maps, cell, self.rank)
            if class_id is None:
                continue
            names.add(self._name(class_id))
            if self._shown.get(key) != class_id:
                items[key].setIcon(self._decorated(maps, class_id))
                self._shown[key] = class_id
        self._label(selected, service, names, waiting)

    def _label(
        self, selected: set[Key], service: ClassMapService | None, names: set[str], waiting: bool
    ) -> None:
        if not self.rank:
            text = ""
        elif not selected:
            text = f"Heat map ({RANKS[self.rank]}): select a cell"
        elif service is None or not service.available:
            text = "Heat map: no classifier loaded"
        elif names:
            text = f"Map: {', '.join(sorted(names))} ({RANKS[self.rank]})"
        else:
            text = "Heat map: computing…" if waiting else "Heat map: none"
        self.label.setText(text)
        self.label.setToolTip(text)

    def _decorated(self, maps: CellMaps, class_id: str) -> QIcon:
        size = self.gallery.thumb_size
        pixmap = map_thumbnail(maps, class_id, size)
        painter = QPainter(pixmap)
        band = max(12, size // 6)
        painter.fillRect(0, size - band, size, band, QColor(0, 0, 0, 150))
        painter.setPen(QColor("#ffffff"))
        font = painter.font()
        font.setPixelSize(max(9, band - 4))
        painter.setFont(font)
        name = painter.fontMetrics().elidedText(
            self._name(class_id), Qt.TextElideMode.ElideRight, size - 4
        )
        painter.drawText(0, size - band, size, band, Qt.AlignmentFlag.AlignCenter, name)
        painter.end()
        icon = QIcon(pixmap)
        icon.addPixmap(pixmap, QIcon.Mode.Selected)
        return icon

    def _items(self) -> dict[Key, QListWidgetItem]:
        found: dict[Key, QListWidgetItem] = {}
        for section in self.gallery.sections.values():
            for row in range(section.count()):
                item = section.item(row)
                field_id, cell_id = item.data(ROLE_KEY)
                found[(str(field_id), str(cell_id))] = item
        return found

    def _field(self, field_id: str) -> Field | None:
        case = self.gallery._case
        return case.get_field(field_id) if case is not None else None

    def _cell(self, key: Key) -> Cell | None:
        field = self._field(key[0])
        return field.get(key[1]) if field is not None else None

    def _name(self, class_id: str) -> str:
        cls = self.gallery.taxonomy.get(class_id)
        return cls.display_name if cls is not None else class_id
