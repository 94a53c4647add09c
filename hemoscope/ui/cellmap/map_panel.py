"""The cell map dock: the case's classified white cells placed by their embedding.

The panel is given the case (`show_case`) and redraws on the next turn of the event loop
while it is visible (`Deferred`). The map itself (the cells' embeddings stacked and
projected, `core.cell_map`, and on first use reading the model's statistics,
`ProjectionSource`) is computed on Qt's thread pool (`PoolTask`); only drawing the result
happens on the GUI thread. The view keeps its zoom and pan when cells are added: the
projection is fixed, so a new cell appears where it belongs and nothing else moves; it
fits the view to the cells only when the first cells of a case arrive.

Hovering shows the cell (`HoverCard`); a click shows it in its field (`cell_activated`);
a rectangle selects cells, and a class key (routed here by the window while the map has
the keyboard focus) relabels them all as one undo step (`relabel_requested`), the
selection staying on them. Escape clears the selection. The panel never changes the case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QShowEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from hemoscope.core import Case, CellMap, MapProjection, Taxonomy, cell_map
from hemoscope.ui.cellmap.hover_card import HoverCard, ImageOf
from hemoscope.ui.cellmap.map_view import CellMapView
from hemoscope.ui.cellmap.projection_source import ProjectionSource, load_projection
from hemoscope.ui.shared.deferred import Deferred
from hemoscope.ui.shared.pool_task import PoolTask

__all__ = ["CellMapPanel", "MapResult"]

UNKNOWN_COLOUR = "#9aa5b1"
LEGEND = (
    "<span style='color:#f59e0b'>◯</span> flagged &nbsp; "
    "<span style='color:#7f1d1d'>✕</span> unfamiliar &nbsp; ★ training class centre<br>"
    "Drag: select · class key: relabel them · wheel: zoom · right-drag: pan · "
    "double-click: fit"
)
Key = tuple[str, str]


@dataclass(frozen=True)
class MapResult:
    """What the worker hands back: the map and how to draw it."""

    case_id: str
    cells: CellMap | None  # None: no projection (`error` says why)
    projection: MapProjection | None
    colours: tuple[str, ...]
    flagged: npt.NDArray[np.bool_]
    unfamiliar: npt.NDArray[np.bool_]
    error: str = ""


class CellMapPanel(QWidget):
    cell_activated = Signal(str, str)  # field id, cell id: show it in its field
    relabel_requested = Signal(object, str)  # list of (field id, cell id), class id
    drawn = Signal()  # a map was drawn (tests, benchmarks)

    def __init__(
        self,
        *,
        taxonomy: Taxonomy,
        image_of: ImageOf,
        source: ProjectionSource | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("cellMapPanel")
        self.taxonomy = taxonomy
        self._source = source or ProjectionSource(lambda: load_projection(taxonomy=taxonomy))
        self.summary = QLabel("No cells yet", self)
        self.summary.setObjectName("cellMapSummary")
        self.summary.setWordWrap(True)
        # two lines always: the map does not shift when the selection line comes and goes
        self.summary.setMinimumHeight(2 * self.summary.fontMetrics().lineSpacing() + 4)
        self.view = CellMapView(self)
        self.view.installEventFilter(self)
        self.legend = QLabel(LEGEND, self)
        self.legend.setWordWrap(True)
        self.legend.setStyleSheet("color: #52606d; font-size: 11px;")
        self.hover = HoverCard(image_of, self.view)
        column = QVBoxLayout(self)
        column.setContentsMargins(6, 6, 6, 6)
        column.addWidget(self.summary)
        column.addWidget(self.view, 1)
        column.addWidget(self.legend)
        self.map: CellMap | None = None
        self._case: Case | None = None
        self._drawn_case: str | None = None
        self._index: dict[Key, int] = {}
        self._current: Key = ("", "")
        self._centres = False
        self._base = ""
        self._task = PoolTask(self)
        self._refresh = Deferred(self._start, widget=self)
        self.view.clicked.connect(self._clicked)
        self.view.hovered.connect(self._hovered)
        self.view.selection_changed.connect(self._say_selection)

    # -- showing -------------------------------------------------------------------------
    def show_case(self, case: Case | None) -> None:
        """Map `case`: on the next turn of the event loop, or when the panel is shown."""
        self._case = case
        self._refresh.request()

    def flush(self) -> None:
        """Start the pending map now (it is drawn when the worker answers)."""
        self._refresh.flush()

    def set_taxonomy(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._centres = False
        self._refresh.request()

    def follow(self, field_id: str, cell_id: str) -> None:
        """Ring the cell shown in the picture ("" for none)."""
        self._current = (field_id, cell_id)
        self.view.set_current(self._index.get(self._current, -1))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._refresh.shown()

    # -- selection -----------------------------------------------------------------------
    def selected_cells(self) -> list[Key]:
        points = self.map.points if self.map is not None else ()
        return [(points[i].field_id, points[i].cell_id) for i in sorted(self.view.selected)]

    def select_cells(self, keys: list[Key]) -> None:
        self.view.set_selection({self._index[k] for k in keys if k in self._index})

    def relabel_selected(self, class_id: str) -> bool:
        """Ask to relabel the selected cells; whether there were any."""
        cells = self.selected_cells()
        if not cells:
            return False
        self.relabel_requested.emit(cells, class_id)
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.view and event.type() == QEvent.Type.Leave:
            self.hover.dismiss()
        if (
            watched is self.view
            and isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() == Qt.Key.Key_Escape
        ):
            self.view.set_selection(set())
            return True
        return super().eventFilter(watched, event)

    # -- computing (on the pool) and drawing -------------------------------------------
    def _start(self) -> None:
        case, taxonomy, source = self._case, self.taxonomy, self._source
        self._task.run(lambda: compute(case, taxonomy, source), self._draw, self._failed)

    def _failed(self, error: BaseException) -> None:
        self.summary.setText(f"The cell map could not be drawn: {error}")

    def _draw(self, result: MapResult) -> None:
        if result.cells is None or result.projection is None:
            self.map, self._index = None, {}
            self.view.set_points(np.zeros((0, 2)), (), result.flagged, result.unfamiliar, fit=False)
            self.summary.setText(f"No cell map: {result.error}")
            self.drawn.emit()
            return
        if not self._centres:
            proj = result.projection
            names = [self._name(c) for c in proj.classes]
            colours = [QColor(self._colour(c)) for c in proj.classes]
            self.view.set_centres(proj.centres, names, colours)
            self._centres = True
        keep = self.selected_cells()
        fit = result.case_id != self._drawn_case or (self.map is not None and not len(self.map))
        self.map = result.cells
        self._drawn_case = result.case_id
        self._index = {(p.field_id, p.cell_id): i for i, p in enumerate(result.cells.points)}
        self.view.selected = {self._index[k] for k in keep if k in self._index}
        self.view.current = self._index.get(self._current, -1)
        self.view.set_points(
            result.cells.xy, result.colours, result.flagged, result.unfamiliar, fit=fit
        )
        self._say(result)
        self.drawn.emit()

    def _say(self, result: MapResult) -> None:
        cells = result.cells
        assert cells is not None
        n = len(cells)
        parts = [f"{n} cell{'s' if n != 1 else ''} on the map"]
        if n:
            parts.append(f"{int(result.flagged.sum())} flagged")
            parts.append(f"{int(result.unfamiliar.sum())} unfamiliar")
        text = " · ".join(parts)
        if cells.missing:
            text += (
                f"<br><i>{cells.missing} classified cell{'s' if cells.missing != 1 else ''} "
                "saved before embeddings were kept (or by another model) "
                f"{'are' if cells.missing != 1 else 'is'} not on the map.</i>"
            )
        self._base = text
        self._say_selection()

    def _say_selection(self) -> None:
        if self.map is None:
            return
        n = len(self.view.selected)
        tail = f"<br><b>{n} selected</b>: press a class key to relabel them" if n else ""
        self.summary.setText(self._base + tail)

    # -- pointer -------------------------------------------------------------------------
    def _clicked(self, index: int) -> None:
        self.view.setFocus(Qt.FocusReason.MouseFocusReason)
        if self.map is None or index < 0:
            self.view.set_selection(set())
            return
        point = self.map.points[index]
        self.view.set_selection({index})
        self.cell_activated.emit(point.field_id, point.cell_id)

    def _hovered(self, index: int, at: QPointF) -> None:
        case = self._case
        if self.map is None or index < 0 or case is None:
            self.hover.dismiss()
            return
        point = self.map.points[index]
        fld = case.get_field(point.field_id)
        cell = fld.get(point.cell_id) if fld is not None else None
        if fld is None or cell is None:
            self.hover.dismiss()
            return
        self.hover.show_cell(point.field_id, cell, self.taxonomy, at)

    def _name(self, class_id: str) -> str:
        cls = self.taxonomy.get(class_id)
        return cls.display_name.split(" (")[0] if cls is not None else class_id

    def _colour(self, class_id: str) -> str:
        cls = self.taxonomy.get(class_id)
        return cls.colour if cls is not None else UNKNOWN_COLOUR


def compute(case: Case | None, taxonomy: Taxonomy, source: ProjectionSource) -> MapResult:
    """The map of `case` and how to draw it (runs on the pool)."""
    case_id = case.id if case is not None else ""
    none = np.zeros(0, bool)
    projection = source.get()
    if projection is None:
        return MapResult(case_id, None, None, (), none, none, source.error or "no projection")
    cells = cell_map(case, projection)
    known = {c.id: c.colour for c in taxonomy}
    colours = tuple(known.get(p.class_id, UNKNOWN_COLOUR) for p in cells.points)
    flagged = np.array([p.flagged for p in cells.points], dtype=bool)
    unfamiliar = np.array([p.unfamiliar for p in cells.points], dtype=bool)
    return MapResult(case_id, cells, projection, colours, flagged, unfamiliar)
