"""A zoomable, pannable view of one microscope image.

Mouse: the wheel zooms around the pointer, dragging pans, a double click fits the image
to the window. Keys: + zooms in (the menu's Ctrl+= / Ctrl+- / Ctrl+0 zoom in, out and fit;
the plain keys 0-9, - and = label cells).
While "fit" is on (after opening an image, Ctrl+0, or a double click) the image follows
the window's size; any other zoom turns it off.

`show_frame` replaces the pixels of the image shown without touching the zoom or the
other items of the scene: the live view calls it at camera rate.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPixmap,
    QResizeEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

from hemoscope.ui.shared.qimage import bgr_to_qimage

__all__ = ["ImageView"]

ZOOM_STEP = 1.25
MIN_SCALE = 0.01
MAX_SCALE = 32.0
# Below this scale pixels are interpolated; above it they are drawn as squares, so
# that a technician zoomed in on a cell sees the real pixels.
SMOOTH_BELOW = 3.0
PLACEHOLDER = "Open images with File ▸ Open… (Ctrl+O)\nor drop image files or folders here"
_PLAIN_OR_SHIFT = (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier)


class ImageView(QGraphicsView):
    """Shows one image; emits `zoom_changed` with the scale (1.0 = one image pixel per
    screen pixel) whenever it changes."""

    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageView")
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self._item: QGraphicsPixmapItem | None = None
        self._fit = True
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(QColor("#5b6168"))
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)  # see set_scale
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(False)  # drops go to the main window

    # -- content ------------------------------------------------------------------
    def set_image(self, image: npt.NDArray[np.uint8]) -> None:
        """Show an (H, W, 3) uint8 BGR image, fitted to the view."""
        self.set_pixmap(QPixmap.fromImage(bgr_to_qimage(image)))

    def set_pixmap(self, pixmap: QPixmap) -> None:
        """Show `pixmap`, fitted to the view."""
        self._replace(pixmap)
        self.fit()

    def show_frame(self, image: npt.NDArray[np.uint8]) -> None:
        """Show a new frame; the zoom stays (unless fitted and the frame's size changed)."""
        pixmap = QPixmap.fromImage(bgr_to_qimage(image))
        resized = self._replace(pixmap)
        if resized and self._fit:
            self.fit()

    def clear(self) -> None:
        if self._item is not None:
            self._scene.removeItem(self._item)
            self._item = None
        self.resetTransform()
        self.viewport().update()

    def _replace(self, pixmap: QPixmap) -> bool:
        """Put `pixmap` in the (kept) pixmap item; whether the image's size changed."""
        if self._item is None:
            self._item = self._scene.addPixmap(pixmap)
            self._item.setZValue(0)
            resized = True
        else:
            resized = self._item.pixmap().size() != pixmap.size()
            self._item.setPixmap(pixmap)
        if resized:
            self._scene.setSceneRect(QRectF(pixmap.rect()))
        self._zoomed_mode()
        return resized

    def pixmap_item(self) -> QGraphicsPixmapItem | None:
        return self._item

    def has_image(self) -> bool:
        return self._item is not None

    # -- zoom ---------------------------------------------------------------------
    def scale_factor(self) -> float:
        return float(self.transform().m11())

    def is_fitted(self) -> bool:
        return self._fit

    def fit(self) -> None:
        """Fit the whole image in the view, and keep it fitted when the view resizes."""
        self._fit = True
        if self._item is not None:
            self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)
        self._zoomed()

    def actual_size(self) -> None:
        self.set_scale(1.0)

    def zoom_in(self) -> None:
        self.zoom_by(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom_by(1 / ZOOM_STEP)

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Multiply the scale by `factor`, keeping the scene point under `anchor` (a
        viewport position; default the centre) where it is."""
        self.set_scale(self.scale_factor() * factor, anchor)

    def set_scale(self, scale: float, anchor: QPointF | None = None) -> None:
        """Set the scale, keeping the scene point under `anchor` (a viewport position;
        default the centre) where it is."""
        if self._item is None:
            return
        scale = min(max(scale, MIN_SCALE), MAX_SCALE)
        point = (anchor or QPointF(self.viewport().rect().center())).toPoint()
        target = self.mapToScene(point)
        self._fit = False
        self.setTransform(QTransform.fromScale(scale, scale))
        moved = self.mapFromScene(target) - point
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + moved.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + moved.y())
        self._zoomed()

    def _zoomed(self) -> None:
        self._zoomed_mode()
        self.zoom_changed.emit(self.scale_factor())

    def _zoomed_mode(self) -> None:
        if self._item is not None:
            smooth = self.scale_factor() < SMOOTH_BELOW
            modes = Qt.TransformationMode
            mode = modes.SmoothTransformation if smooth else modes.FastTransformation
            self._item.setTransformationMode(mode)

    # -- events -------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps == 0 or self._item is None:
            super().wheelEvent(event)
            return
        self.zoom_by(ZOOM_STEP**steps, event.position())
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        plain = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        action = self.zoom_in if key == Qt.Key.Key_Plus and plain in _PLAIN_OR_SHIFT else None
        if action is None:
            super().keyPressEvent(event)
            return
        action()
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.fit()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fit and self._item is not None:
            self.fit()

    def placeholder(self) -> str:
        """The text shown while there is no image."""
        return PLACEHOLDER

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        if self._item is not None:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(QColor("#e8eaed"))
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        painter.setFont(font)
        painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder())
        painter.restore()
