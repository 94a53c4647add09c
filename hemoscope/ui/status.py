"""The main window's status bar: file name, image size and zoom, plus brief messages."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from hemoscope.ui.image_session import ImageEntry

__all__ = ["MESSAGE_MS", "ImageStatusBar"]

MESSAGE_MS = 15_000


class ImageStatusBar(QStatusBar):
    """Permanent fields on the right (position, file, size, zoom); messages on the left."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBar")
        self.position_label = QLabel(self)
        self.file_label = QLabel(self)
        self.size_label = QLabel(self)
        self.zoom_label = QLabel(self)
        for name, label in (
            ("positionLabel", self.position_label),
            ("fileLabel", self.file_label),
            ("sizeLabel", self.size_label),
            ("zoomLabel", self.zoom_label),
        ):
            label.setObjectName(name)
            self.addPermanentWidget(label)
        self.show_image(None)

    def show_image(self, entry: ImageEntry | None, index: int = 0, count: int = 0) -> None:
        """Describe the image shown, `index` (from 0) of `count`; None for no image."""
        if entry is None:
            for label in (self.position_label, self.file_label, self.size_label):
                label.clear()
            self.zoom_label.clear()
            return
        self.position_label.setText(f"{index + 1} / {count}")
        self.file_label.setText(entry.name)
        self.file_label.setToolTip(str(entry.path))
        self.size_label.setText(f"{entry.width} × {entry.height} px")

    def show_zoom(self, scale: float) -> None:
        self.zoom_label.setText(f"{scale * 100:.0f} %")

    def show_error(self, text: str) -> None:
        """A message that stays for a while; the details go to a dialog elsewhere."""
        self.showMessage(f"⚠ {text}", MESSAGE_MS)
