"""The main window's status bar.

Left: brief messages. Right, permanent: the source and its state, frames shown per
second, inference time, model versions; and, for opened image files, the position, file
name, image size and zoom. The long ones (source, models, file name) give way to the
window's width, shortened in the middle with an ellipsis (their tooltips say it all): a
1366-pixel screen keeps the whole window, and the messages keep room to be read.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from hemoscope.ui.images.image_session import ImageEntry

__all__ = ["MESSAGE_MS", "ImageStatusBar", "StationStatusBar"]

MESSAGE_MS = 15_000


class StationStatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBar")
        self.source_label: QLabel = ElidedLabel(self, widest=240)
        self.fps_label = QLabel(self)
        self.inference_label = QLabel(self)
        self.models_label: QLabel = ElidedLabel(self, widest=200)
        self.position_label = QLabel(self)
        self.file_label: QLabel = ElidedLabel(self, widest=150)
        self.size_label = QLabel(self)
        self.zoom_label = QLabel(self)
        for name, label in (
            ("sourceLabel", self.source_label),
            ("fpsLabel", self.fps_label),
            ("inferenceLabel", self.inference_label),
            ("modelsLabel", self.models_label),
            ("positionLabel", self.position_label),
            ("fileLabel", self.file_label),
            ("sizeLabel", self.size_label),
            ("zoomLabel", self.zoom_label),
        ):
            label.setObjectName(name)
            label.setVisible(False)  # shown once it has something to say
            self.addPermanentWidget(label)
        self.fps_label.setToolTip("Frames shown per second / frames delivered by the source")
        self.inference_label.setToolTip("Time the models took on the newest analysed frame")
        self.show_image(None)

    # -- live ----------------------------------------------------------------------------
    def show_source(self, text: str, tip: str = "") -> None:
        _set(self.source_label, text)
        self.source_label.setToolTip(tip)

    def show_rates(self, shown_fps: float | None, source_fps: float | None) -> None:
        if shown_fps is None:
            _set(self.fps_label, "")
            return
        text = f"{shown_fps:.0f} FPS"
        if source_fps:
            text += f" / {source_fps:.0f}"
        _set(self.fps_label, text)

    def show_inference(self, ms: float | None) -> None:
        _set(self.inference_label, "" if ms is None else f"AI {ms:.0f} ms")

    def show_models(self, text: str, tip: str = "") -> None:
        _set(self.models_label, text)
        self.models_label.setToolTip(tip or text)

    # -- image files -----------------------------------------------------------------------
    def show_image(self, entry: ImageEntry | None, index: int = 0, count: int = 0) -> None:
        """Describe the image shown, `index` (from 0) of `count`; None for no image."""
        if entry is None:
            for label in (self.position_label, self.file_label, self.size_label):
                _set(label, "")
            return
        _set(self.position_label, f"{index + 1} / {count}")
        _set(self.file_label, entry.name)
        self.file_label.setToolTip(str(entry.path))
        _set(self.size_label, f"{entry.width} × {entry.height} px")

    def show_zoom(self, scale: float) -> None:
        _set(self.zoom_label, f"{scale * 100:.0f} %")

    def show_error(self, text: str) -> None:
        """A message that stays for a while; the details go to a dialog elsewhere."""
        self.showMessage(f"⚠ {text}", MESSAGE_MS)


class ElidedLabel(QLabel):
    """A one-line label that may be narrower than its text: the middle gives way."""

    SMALLEST = 80

    def __init__(self, parent: QWidget | None = None, *, widest: int = 300) -> None:
        super().__init__(parent)
        self._widest = widest  # wider than this only when the bar has room to spare

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(min(hint.width(), self._widest), hint.height())

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), self.SMALLEST), hint.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(
            self.text(), Qt.TextElideMode.ElideMiddle, rect.width()
        )
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(rect, int(self.alignment()), text)


def _set(label: QLabel, text: str) -> None:
    label.setText(text)
    label.setVisible(bool(text))


ImageStatusBar = StationStatusBar  # the name of the first version's class
