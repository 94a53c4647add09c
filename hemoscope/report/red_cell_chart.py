"""The red-cell diameters' histogram for the report, drawn with QPainter into a QImage
(embedded in the report's HTML as `RED_CELL_CHART`), one bar per bin."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

from hemoscope.core import DiameterHistogram

__all__ = ["RED_CELL_CHART", "red_cell_chart"]

RED_CELL_CHART = "red-cells.png"
_BAR = QColor("#c62828")
_TEXT = QColor("#3e4c59")
_AXIS = QColor("#9aa5b1")


def red_cell_chart(hist: DiameterHistogram, width: int = 1600, height: int = 340) -> QImage:
    """The histogram ``hist`` (non-empty) as an image ``width`` x ``height`` pixels."""
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    p = QPainter(image)
    try:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont()
        font.setPixelSize(44)
        p.setFont(font)
        line = 56.0
        left, right, top, bottom = 110.0, 20.0, 30.0, height - line - 8.0
        n_bins = max(len(hist.counts), 1)
        top_n = max(max(hist.counts, default=0), 1)
        bar_w = (width - left - right) / n_bins
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(_BAR)
        for i, n in enumerate(hist.counts):
            bh = (bottom - top) * n / top_n
            p.drawRect(QRectF(left + i * bar_w + 3, bottom - bh, max(bar_w - 6, 2), bh))
        p.setPen(QPen(_AXIS, 2))
        p.drawLine(int(left), int(bottom), int(width - right), int(bottom))
        p.setPen(_TEXT)
        right_al = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        p.drawText(QRectF(0, top - line / 2, left - 10, line), right_al, str(top_n))
        p.drawText(QRectF(0, bottom - line, left - 10, line), right_al, "0")
        digits = 1 if hist.unit == "µm" else 0
        step = max(1, round(n_bins / 10))
        for i in range(0, n_bins + 1, step):
            label = f"{hist.edges[i]:.{digits}f}" if i < n_bins else hist.unit
            x = left + i * bar_w
            p.drawText(QRectF(x - 80, bottom + 4, 160, line), Qt.AlignmentFlag.AlignHCenter, label)
        if n_bins % step:
            p.drawText(
                QRectF(width - right - 160, bottom + 4, 160, line),
                Qt.AlignmentFlag.AlignRight,
                hist.unit,
            )
    finally:
        p.end()
    return image
