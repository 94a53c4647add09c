"""Why this class, in review: the class activation map over the selected cell.

H toggles the map of the class the cell is shown as (the technician's class when the
classifier has a map of it, else the classifier's), Shift+H the runner-up's (the most
probable other class); the same key again hides the map. The choice stays while the
technician moves from cell to cell. The maps are computed off the GUI thread
(`ClassMapService`); the overlay appears when they are ready, and `caption` says which
class's map is shown.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem

from hemoscope.core import Cell, Taxonomy
from hemoscope.ui.case.workspace import CaseWorkspace
from hemoscope.ui.review.class_map_service import ClassMapService
from hemoscope.ui.station_view import StationView
from hemoscope.vision.class_maps import CellMaps

__all__ = ["MAP_KEY_HELP", "RANKS", "ClassMapOverlay", "map_caption", "map_class", "rgba_to_qimage"]

RANKS = {1: "shown class", 2: "runner-up"}
MAP_KEY_HELP = "H: heat map of the cell's class, Shift+H: the runner-up's"
MAP_Z = 0.5  # over the picture (0), under the boxes and labels (1)


def rgba_to_qimage(rgba: npt.NDArray[np.uint8]) -> QImage:
    """A QImage owning a copy of an (H, W, 4) uint8 RGBA overlay (straight alpha)."""
    if rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"expected an (H, W, 4) uint8 RGBA array, got {rgba.shape}")
    data = np.ascontiguousarray(rgba)
    h, w = data.shape[:2]
    return QImage(data.data, w, h, w * 4, QImage.Format.Format_RGBA8888).copy()


def map_class(maps: CellMaps, cell: Cell, rank: int) -> str | None:
    """The class whose map `rank` (1: the class shown, 2: the runner-up) means for `cell`."""
    first, second = maps.ranked(cell.effective_class)
    return first if rank == 1 else second


def map_caption(maps: CellMaps | None, cell: Cell, rank: int, taxonomy: Taxonomy) -> str:
    """What the caption says of the map shown over `cell` ("" when none is asked for)."""
    if rank not in RANKS:
        return ""
    if maps is None:
        return f"heat map ({RANKS[rank]}): computing…"
    class_id = map_class(maps, cell, rank)
    if class_id is None:
        return "heat map: no runner-up"
    cls = taxonomy.get(class_id)
    name = cls.display_name if cls is not None else class_id
    p = maps.probability(class_id)
    return f"heat map: {name} [{RANKS[rank]}, {'<1%' if p < 0.005 else f'{p:.0%}'}]"


class ClassMapOverlay(QObject):
    changed = Signal()  # what the caption says of the map changed

    def __init__(
        self,
        view: StationView,
        workspace: CaseWorkspace,
        service: ClassMapService,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.view = view
        self.workspace = workspace
        self.service = service
        self.rank = 0  # 0: no map, 1: the class shown, 2: the runner-up
        self.field_id = ""
        self.cell_id = ""
        self.item = QGraphicsPixmapItem()
        self.item.setZValue(MAP_Z)
        self.item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.item.setVisible(False)
        self.item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        view.scene().addItem(self.item)
        self.shown: tuple[str, str, str] | None = None  # field, cell, class over the picture
        service.ready.connect(self._ready)

    def toggle(self, rank: int) -> None:
        """The key for `rank` was pressed: show that map, or hide it if shown."""
        self.rank = 0 if self.rank == rank else rank
        self._update()

    def follow(self, field_id: str, cell_id: str) -> None:
        """The cell shown for review changed ("" for none)."""
        self.field_id, self.cell_id = field_id, cell_id
        self._update()

    def caption(self) -> str:
        cell = self._cell()
        if cell is None or not self.rank:
            return ""
        if not self.service.available:
            return "heat map: no classifier loaded"
        maps = self.service.maps(self.field_id, cell)
        return map_caption(maps, cell, self.rank, self.workspace.taxonomy)

    def _cell(self) -> Cell | None:
        field = self.workspace.field(self.field_id) if self.field_id else None
        return field.get(self.cell_id) if field is not None and self.cell_id else None

    def _ready(self, field_id: str, cell_id: str) -> None:
        if (field_id, cell_id) == (self.field_id, self.cell_id) and self.rank:
            self._update()

    def _update(self) -> None:
        cell = self._cell()
        field = self.workspace.field(self.field_id) if self.field_id else None
        maps = None
        if cell is not None and field is not None and self.rank:
            maps = self.service.maps(field.id, cell)
            if maps is None:
                self.service.request(field, [cell], self.workspace.field_image(field.id))
        class_id = map_class(maps, cell, self.rank) if maps and cell else None
        if maps is None or cell is None or class_id is None:
            self.item.setVisible(False)
            self.shown = None
        else:
            rgba = maps.overlay(class_id)
            self.item.setPixmap(QPixmap.fromImage(rgba_to_qimage(rgba)))
            place = maps.placement
            self.item.setPos(place.x, place.y)
            self.item.setScale(place.side / rgba.shape[0])
            self.item.setVisible(True)
            self.shown = (self.field_id, self.cell_id, class_id)
        self.changed.emit()
