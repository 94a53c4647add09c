"""The cell map's plot: pyqtgraph scatter items over one view box.

Each cell is a dot in its class's colour; a cell flagged for review wears an amber ring,
an unfamiliar cell a dark cross behind its dot; the training classes' centres are stars
with their names. Selected cells (a rectangle) get a blue square, the cell shown in the
picture a black ring.

Mouse: a left drag draws a selection rectangle (Shift adds to the selection), a click
picks the nearest cell within a few pixels (`clicked`; -1 on empty map), a double-click
fits the view to the cells and the class centres, the wheel zooms, a right or middle
drag pans; `hovered` follows the nearest cell under the pointer. The view never changes
the case: the panel around it does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QGraphicsRectItem, QWidget

__all__ = ["PICK_PX", "CellMapView"]

PICK_PX = 8.0  # a click or hover finds a cell within this many screen pixels
FLAG_COLOUR = QColor("#f59e0b")
ODD_COLOUR = QColor("#7f1d1d")
SELECT_COLOUR = QColor("#1d4ed8")
DOT = 8
F64 = npt.NDArray[np.float64]


ABOVE, BELOW, LEFT, RIGHT = (0.5, 1.4), (0.5, -0.4), (1.08, 0.5), (-0.08, 0.5)


def label_anchors(xy: F64) -> list[tuple[float, float]]:
    """Where each class centre's name goes (a `pg.TextItem` anchor): on the side away from
    the nearest other centre, so that two close centres' names do not overlap (the map's
    y axis points up and its aspect is locked)."""
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    out: list[tuple[float, float]] = []
    for i, p in enumerate(pts):
        others = np.delete(pts, i, axis=0)
        if not len(others):
            out.append(ABOVE)
            continue
        dx, dy = others[np.argmin(((others - p) ** 2).sum(axis=1))] - p
        if abs(dy) >= abs(dx):
            out.append(BELOW if dy > 0 else ABOVE)
        else:
            out.append(LEFT if dx > 0 else RIGHT)
    return out


class _MapBox(pg.ViewBox):  # type: ignore[misc]  # pyqtgraph ships no types
    """Left drag: a selection rectangle; right or middle drag: pan."""

    def __init__(self, on_rect: Callable[[QRectF, bool], None]) -> None:
        super().__init__(enableMenu=False, defaultPadding=0.05)
        self._on_rect = on_rect
        self.band = QGraphicsRectItem()
        self.band.setPen(pg.mkPen(SELECT_COLOUR, width=1, style=Qt.PenStyle.DashLine))
        self.band.setBrush(QBrush(QColor(29, 78, 216, 40)))
        self.band.setZValue(1e6)
        self.band.hide()
        self.addItem(self.band, ignoreBounds=True)

    def mouseDragEvent(self, ev: Any, axis: int | None = None) -> None:
        button = ev.button()
        if button == Qt.MouseButton.LeftButton:
            ev.accept()
            a = self.mapToView(ev.buttonDownPos())
            b = self.mapToView(ev.pos())
            rect = QRectF(a, b).normalized()
            if ev.isFinish():
                self.band.hide()
                shift = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
                self._on_rect(rect, shift)
            else:
                self.band.setRect(rect)
                self.band.show()
            return
        if button in (Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton):
            ev.accept()
            d = self.mapToView(ev.lastPos()) - self.mapToView(ev.pos())
            self.translateBy(x=d.x(), y=d.y())
            return
        super().mouseDragEvent(ev, axis)


class CellMapView(pg.PlotWidget):  # type: ignore[misc]
    clicked = Signal(int)  # index of the cell clicked, -1 for none
    hovered = Signal(int, QPointF)  # index under the pointer (-1: none), widget position
    selection_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        self.box = _MapBox(self._rect_drawn)
        super().__init__(parent, background="w", viewBox=self.box)
        self.setObjectName("cellMapView")
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setMouseTracking(True)
        plot = self.getPlotItem()
        plot.hideButtons()
        plot.setMenuEnabled(False)
        # No axes (the map's units mean nothing to a reader), a faint grid for orientation:
        # the axes' own grid cost 12 ms of every pan or zoom step with 1,000 cells, the
        # grid item under 2 ms (`benchmarks/bench_cellmap.py`).
        for side in ("left", "bottom"):
            plot.hideAxis(side)
        grid = pg.GridItem(pen=pg.mkPen(0, 0, 0, 28), textPen=None)
        grid.setTickSpacing(x=[None, None], y=[None, None])  # two levels, not three
        grid.setZValue(-10)
        plot.addItem(grid)
        self.box.setAspectLocked(True)
        self.box.disableAutoRange()  # the view moves only when told: nothing jumps
        self.xy: F64 = np.zeros((0, 2))
        self.selected: set[int] = set()
        self.current = -1
        self._odd = pg.ScatterPlotItem(symbol="x", size=DOT + 8, pen=None, brush=ODD_COLOUR)
        self._dots = pg.ScatterPlotItem(size=DOT, pen=pg.mkPen("#1f2933", width=0.5))
        self._flags = pg.ScatterPlotItem(symbol="o", size=DOT + 7, brush=None)
        self._flags.setPen(pg.mkPen(FLAG_COLOUR, width=2))
        self._chosen = pg.ScatterPlotItem(symbol="s", size=DOT + 9, brush=None)
        self._chosen.setPen(pg.mkPen(SELECT_COLOUR, width=2))
        self._shown = pg.ScatterPlotItem(symbol="o", size=DOT + 14, brush=None)
        self._shown.setPen(pg.mkPen("#111827", width=2.5))
        self._centres = pg.ScatterPlotItem(symbol="star", size=16, pen=pg.mkPen("#111827"))
        self._labels: list[pg.TextItem] = []
        for z, item in enumerate(
            (self._centres, self._odd, self._dots, self._flags, self._chosen, self._shown)
        ):
            item.setZValue(z)
            self.addItem(item)
        # Every click, whichever item is under it (a dot takes the click for itself).
        self.scene().sigMouseClicked.connect(self._scene_clicked)
        self.scene().sigMouseMoved.connect(self._moved)

    # -- content -------------------------------------------------------------------------
    def set_points(
        self,
        xy: F64,
        colours: Sequence[str],
        flagged: npt.NDArray[np.bool_],
        unfamiliar: npt.NDArray[np.bool_],
        *,
        fit: bool,
    ) -> None:
        """Draw the cells: positions (N, 2), their colours ("#rrggbb") and marks."""
        self.xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        brushes: dict[str, QBrush] = {}
        fill = [brushes.get(c) or brushes.setdefault(c, QBrush(QColor(c))) for c in colours]
        x, y = self.xy[:, 0], self.xy[:, 1]
        self._dots.setData(x=x, y=y, brush=fill)
        self._flags.setData(x=x[flagged], y=y[flagged])
        self._odd.setData(x=x[unfamiliar], y=y[unfamiliar])
        self.selected = {i for i in self.selected if i < len(self.xy)}
        self._mark_selection()
        self._mark_current()
        if fit:
            self.fit()

    def set_centres(self, xy: F64, names: Sequence[str], colours: Sequence[QColor]) -> None:
        """The training classes' centres, as reference."""
        for label in self._labels:
            self.removeItem(label)
        self._labels = []
        self._centres.setData(
            x=xy[:, 0], y=xy[:, 1], brush=[QBrush(c.lighter(120)) for c in colours]
        )
        for (cx, cy), name, anchor in zip(xy, names, label_anchors(xy), strict=True):
            label = pg.TextItem(name, color="#3e4c59", anchor=anchor)
            label.setPos(float(cx), float(cy))
            label.setZValue(-1)
            self.addItem(label)
            self._labels.append(label)

    def fit(self) -> None:
        """Show every cell and every training class's centre (double-click does it)."""
        pts = np.vstack([self.xy, self._centres_xy()])
        if not len(pts):
            return
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        pad = np.maximum((hi - lo) * 0.08, 1.0)
        self.box.setRange(
            xRange=(lo[0] - pad[0], hi[0] + pad[0]), yRange=(lo[1] - pad[1], hi[1] + pad[1])
        )

    def _centres_xy(self) -> F64:
        x, y = self._centres.getData()
        return np.column_stack([x, y]) if x is not None and len(x) else np.zeros((0, 2))

    # -- selection -----------------------------------------------------------------------
    def set_selection(self, indices: set[int]) -> None:
        self.selected = {i for i in indices if 0 <= i < len(self.xy)}
        self._mark_selection()
        self.selection_changed.emit()

    def set_current(self, index: int) -> None:
        """The cell shown in the picture (-1: none)."""
        self.current = index
        self._mark_current()

    def _mark_selection(self) -> None:
        idx = np.array(sorted(self.selected), dtype=np.int64)
        self._chosen.setData(x=self.xy[idx, 0], y=self.xy[idx, 1])

    def _mark_current(self) -> None:
        ok = 0 <= self.current < len(self.xy)
        pts = self.xy[[self.current]] if ok else np.zeros((0, 2))
        self._shown.setData(x=pts[:, 0], y=pts[:, 1])

    def _rect_drawn(self, rect: QRectF, add: bool) -> None:
        x, y = self.xy[:, 0], self.xy[:, 1]
        inside = (x >= rect.left()) & (x <= rect.right()) & (y >= rect.top())
        inside &= y <= rect.bottom()
        hits = {int(i) for i in np.flatnonzero(inside)}
        self.setFocus(Qt.FocusReason.MouseFocusReason)  # the class keys come here now
        self.set_selection(self.selected | hits if add else hits)

    # -- picking -------------------------------------------------------------------------
    def nearest(self, point: QPointF, within_px: float = PICK_PX) -> int:
        """The cell nearest a point of the map, within `within_px` screen pixels; -1."""
        if not len(self.xy):
            return -1
        sx, sy = self.box.viewPixelSize()
        dx = (self.xy[:, 0] - point.x()) / max(sx, 1e-12)
        dy = (self.xy[:, 1] - point.y()) / max(sy, 1e-12)
        d2 = dx * dx + dy * dy
        i = int(d2.argmin())
        return i if d2[i] <= within_px**2 else -1

    def _scene_clicked(self, ev: Any) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        if ev.double():
            self.fit()
            return
        scene_pos = ev.scenePos()
        if self.box.sceneBoundingRect().contains(scene_pos):
            self.clicked.emit(self.nearest(self.box.mapSceneToView(scene_pos)))

    def _moved(self, scene_pos: QPointF) -> None:
        if not self.box.sceneBoundingRect().contains(scene_pos):
            self.hovered.emit(-1, QPointF())
            return
        index = self.nearest(self.box.mapSceneToView(scene_pos))
        self.hovered.emit(index, QPointF(self.mapFromScene(scene_pos)))

    def view_point(self, index: int) -> QPointF:
        """Where cell `index` is, in this widget's coordinates (tests, hover)."""
        scene = self.box.mapViewToScene(QPointF(*self.xy[index]))
        return QPointF(self.mapFromScene(scene))
