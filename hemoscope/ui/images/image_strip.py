"""The list of opened images, with thumbnails, to step from one field to the next."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

from hemoscope.ui.images.image_session import ImageEntry
from hemoscope.ui.shared.qimage import bgr_to_qimage

__all__ = ["ImageStrip"]

THUMBNAIL = QSize(72, 54)


class ImageStrip(QListWidget):
    """Shows one row per opened image; emits `image_chosen` with the row the user picks.

    Setting the current row from code (`set_current`) does not emit `image_chosen`.
    """

    image_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageStrip")
        self.setIconSize(THUMBNAIL)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.currentRowChanged.connect(self._row_changed)
        self._quiet = False

    def add_entry(self, entry: ImageEntry, image: npt.NDArray[np.uint8]) -> None:
        """Append a row for `entry`, with a thumbnail made from `image`."""
        item = QListWidgetItem(_thumbnail(image), entry.name)
        self._describe(item, entry)
        self.addItem(item)

    def update_entry(self, row: int, entry: ImageEntry, image: npt.NDArray[np.uint8]) -> None:
        """Refresh row `row` after its file was read again."""
        item = self.item(row)
        if item is not None:
            item.setIcon(_thumbnail(image))
            self._describe(item, entry)

    def set_current(self, row: int) -> None:
        self._quiet = True
        try:
            self.setCurrentRow(row)
            self.scrollToItem(self.currentItem())
        finally:
            self._quiet = False

    def _describe(self, item: QListWidgetItem, entry: ImageEntry) -> None:
        item.setToolTip(f"{entry.path}\n{entry.width} × {entry.height} pixels")

    def _row_changed(self, row: int) -> None:
        if not self._quiet and row >= 0:
            self.image_chosen.emit(row)


def _thumbnail(image: npt.NDArray[np.uint8]) -> QIcon:
    # Subsample before converting, so a 20-megapixel field does not become a full
    # QImage just to make a 72-pixel icon.
    step = max(1, min(image.shape[0] // THUMBNAIL.height(), image.shape[1] // THUMBNAIL.width()))
    small = bgr_to_qimage(image[::step, ::step])
    scaled = small.scaled(
        THUMBNAIL, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
    pixmap = QPixmap.fromImage(scaled)
    icon = QIcon(pixmap)
    # Without a pixmap of its own for the selected state, the style tints the thumbnail
    # with the highlight colour: a stain's colours must not change with the selection.
    icon.addPixmap(pixmap, QIcon.Mode.Selected)
    return icon
