"""The station's picture: the live frame or a captured field, with the cell overlay.

Two modes. "live": the newest frame, overlaid with the newest inference result; dragging
pans. "review" (a captured field): a click selects a cell (`cell_clicked`), dragging on
empty picture draws a box round a missed cell (`box_drawn`), a right-click on a cell asks
its class from the class menu (`cell_menu_requested`: every class, those without a key
too), dragging with the right or middle button pans, and the keys go to `key_handler`
first (arrows, Tab, Delete, Enter, Escape), so Tab moves between flagged cells instead of
between widgets.

A caption in a band of its own above the picture says which mode the picture is in (it
never hides the labels of cells in the picture's top-left corner).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QResizeEvent
from PySide6.QtWidgets import QGraphicsView, QLabel, QWidget

from hemoscope.core import DEFAULT_TAXONOMY, Box, Field, Taxonomy
from hemoscope.ui.review.review_model import cell_at
from hemoscope.ui.shared.image_view import ImageView
from hemoscope.ui.shared.overlay import CellOverlay

__all__ = ["MIN_DRAWN_PX", "StationView", "ViewMode"]

ViewMode = Literal["live", "review"]
MIN_DRAWN_PX = 6.0  # a drag shorter than this (in image pixels) is a click
CLICK_MARGIN_PX = 4.0  # screen pixels of slack round a box for a click
CAPTION_BAND = 30  # pixels above the picture for the caption


class StationView(ImageView):
    cell_clicked = Signal(str)  # cell id; "" for a click on no cell
    box_drawn = Signal(object)  # Box, in image pixels
    cell_menu_requested = Signal(str)  # cell id right-clicked (pressed and released there)

    def __init__(self, *, taxonomy: Taxonomy = DEFAULT_TAXONOMY, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("stationView")
        self.overlay = CellOverlay(taxonomy)
        self.overlay.live = True
        self.scene().addItem(self.overlay)
        self.mode: ViewMode = "live"
        self.caption = ""
        self.caption_colour = QColor("#2f6f9f")
        # The caption has a band of its own above the picture: it never hides the labels
        # of the cells in the picture's top-left corner.
        self._caption_bar = QLabel(self)
        self._caption_bar.setObjectName("stationCaption")
        self._caption_bar.setAlignment(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        self.setViewportMargins(0, CAPTION_BAND, 0, 0)
        self.key_handler: Callable[[QKeyEvent], bool] | None = None
        self._placeholder = super().placeholder()
        self._press: QPointF | None = None  # scene point where a draw started
        self._pan_from: QPoint | None = None
        self._right_click: tuple[QPoint, str] | None = None  # where, on which cell

    # -- content -------------------------------------------------------------------------
    def set_mode(self, mode: ViewMode) -> None:
        self.mode = mode
        self.overlay.live = mode == "live"
        self.overlay.set_draft(None)
        self._press = None
        drag = QGraphicsView.DragMode
        self.setDragMode(drag.ScrollHandDrag if mode == "live" else drag.NoDrag)
        self.viewport().setCursor(
            Qt.CursorShape.OpenHandCursor if mode == "live" else Qt.CursorShape.CrossCursor
        )

    def show_cells(self, field: Field | None, selected_id: str | None = None) -> None:
        self.overlay.set_field(field, selected_id)

    def set_taxonomy(self, taxonomy: Taxonomy) -> None:
        self.overlay.taxonomy = taxonomy
        self.overlay.update()

    def set_caption(self, text: str, colour: str = "#2f6f9f") -> None:
        self.caption = text
        self.caption_colour = QColor(colour)
        self._caption_bar.setText(text)
        self._caption_bar.setStyleSheet(
            f"background: {colour}; color: #ffffff; font-weight: bold; padding-left: 10px;"
        )

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.viewport().update()

    def placeholder(self) -> str:
        return self._placeholder

    # -- mouse (review) --------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.mode != "review":
            super().mousePressEvent(event)
            return
        if event.button() in (Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton):
            self._pan_from = event.position().toPoint()
            self._right_click = None
            if event.button() == Qt.MouseButton.RightButton and self.overlay.field is not None:
                hit = self._cell_at(event)
                if hit is not None:
                    self._right_click = (self._pan_from, hit)
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if event.button() != Qt.MouseButton.LeftButton or self.overlay.field is None:
            super().mousePressEvent(event)
            return
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        hit = self._cell_at(event)
        if hit is not None:
            self.cell_clicked.emit(hit)
        else:
            self._press = self.mapToScene(event.position().toPoint())
        event.accept()

    def _cell_at(self, event: QMouseEvent) -> str | None:
        """The id of the cell under the mouse, if any."""
        if self.overlay.field is None:
            return None
        point = self.mapToScene(event.position().toPoint())
        margin = CLICK_MARGIN_PX / max(self.scale_factor(), 1e-6)
        hit = cell_at(self.overlay.field, point.x(), point.y(), margin=margin)
        return None if hit is None else hit.id

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            now = event.position().toPoint()
            delta = now - self._pan_from
            self._pan_from = now
            h, v = self.horizontalScrollBar(), self.verticalScrollBar()
            h.setValue(h.value() - delta.x())
            v.setValue(v.value() - delta.y())
            event.accept()
            return
        if self._press is not None:
            self.overlay.set_draft(self._drawn(event))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)
            event.accept()
            click, self._right_click = self._right_click, None
            moved = None if click is None else event.position().toPoint() - click[0]
            if click is not None and moved is not None and moved.manhattanLength() <= 4:
                self.setFocus(Qt.FocusReason.MouseFocusReason)
                self.cell_menu_requested.emit(click[1])
            return
        if self._press is None:
            super().mouseReleaseEvent(event)
            return
        box = self._drawn(event)
        self._press = None
        self.overlay.set_draft(None)
        event.accept()
        if box is not None and min(box.width, box.height) >= MIN_DRAWN_PX:
            self.box_drawn.emit(box)
        else:
            self.cell_clicked.emit("")

    def _drawn(self, event: QMouseEvent) -> Box | None:
        field = self.overlay.field
        if self._press is None or field is None:
            return None
        end = self.mapToScene(event.position().toPoint())
        x1, x2 = sorted((self._press.x(), end.x()))
        y1, y2 = sorted((self._press.y(), end.y()))
        return Box(x1, y1, x2, y2).clip(field.width, field.height)

    # -- keys ----------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.key_handler is not None and self.key_handler(event):
            event.accept()
            return
        super().keyPressEvent(event)

    def focusNextPrevChild(self, next: bool) -> bool:
        # Tab and Shift+Tab reach keyPressEvent (the next cell to review) in every mode:
        # they never move the cursor into a form field, where a class key would type.
        return False

    # -- caption -------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_caption()

    def _place_caption(self) -> None:
        inside = self.contentsRect()
        self._caption_bar.setGeometry(inside.left(), inside.top(), inside.width(), CAPTION_BAND)
