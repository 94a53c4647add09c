"""The differential as a horizontal bar chart, drawn with QPainter into a QImage.

Each differential class is one row: its bar (class colour) of the observed percentage,
the laboratory's reference range as a grey band behind it, and the 95 % confidence
interval as a whisker. The image is embedded in the report's HTML document.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

from hemoscope.core import ClassTally, ReferenceSet, Taxonomy, round_half_up

__all__ = ["differential_chart"]

_ROW = 48
_TOP = 20
_AXIS = 64
_LABEL_W = 520
_VALUE_W = 150


def differential_chart(
    rows: Sequence[ClassTally], taxonomy: Taxonomy, reference: ReferenceSet, width: int = 1600
) -> QImage:
    """Draw the chart of ``rows`` (differential classes); ``width`` in pixels."""
    height = _TOP + _ROW * max(1, len(rows)) + _AXIS
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        _draw(painter, rows, taxonomy, reference, width)
    finally:
        painter.end()
    return image


def _x(percent: float, left: float, span: float) -> float:
    return left + span * min(max(percent, 0.0), 100.0) / 100.0


def _draw(
    painter: QPainter,
    rows: Sequence[ClassTally],
    taxonomy: Taxonomy,
    reference: ReferenceSet,
    width: int,
) -> None:
    font = QFont()
    font.setFamilies(["Helvetica", "Arial", "DejaVu Sans", "Liberation Sans"])
    font.setPixelSize(28)
    painter.setFont(font)
    left, span = float(_LABEL_W), float(width - _LABEL_W - _VALUE_W)
    bottom = _TOP + _ROW * max(1, len(rows))
    grid = QPen(QColor("#d0d0d0"), 1.5)
    for tick in range(0, 101, 10):
        x = _x(tick, left, span)
        painter.setPen(grid)
        painter.drawLine(QPointF(x, _TOP), QPointF(x, bottom))
        painter.setPen(QColor("#404040"))
        painter.drawText(
            QRectF(x - 40, bottom + 6, 80, 34), Qt.AlignmentFlag.AlignCenter, f"{tick}"
        )
    painter.drawText(
        QRectF(0, bottom + 32, width, 32),
        Qt.AlignmentFlag.AlignCenter,
        "% of white cells counted    grey band: reference range    whisker: 95% CI",
    )
    for i, row in enumerate(rows):
        y = _TOP + i * _ROW
        painter.setPen(QColor("#202020"))
        painter.drawText(
            QRectF(0, y, _LABEL_W - 16, _ROW),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
            row.display_name,
        )
        rng = reference.get(row.class_id)
        if rng is not None:
            x0, x1 = _x(rng.low, left, span), _x(rng.high, left, span)
            painter.fillRect(QRectF(x0, y + 4, max(x1 - x0, 3.0), _ROW - 8), QColor("#e4e4e4"))
        if row.percent is None:
            continue
        colour = QColor(taxonomy[row.class_id].colour if row.class_id in taxonomy else "#808080")
        painter.setPen(QPen(QColor("#303030"), 1.5))
        painter.setBrush(colour)
        bar = _x(row.percent, left, span) - left
        painter.drawRect(QRectF(left, y + 14, max(bar, 1.5), _ROW - 28))
        if row.ci is not None:
            lo, hi = (_x(100 * v, left, span) for v in (row.ci.low, row.ci.high))
            mid = y + _ROW / 2
            painter.setPen(QPen(QColor("#000000"), 3))
            painter.drawLine(QPointF(lo, mid), QPointF(hi, mid))
            for x in (lo, hi):
                painter.drawLine(QPointF(x, mid - 10), QPointF(x, mid + 10))
        flag = "" if row.flag is None else f"  {row.flag}"
        painter.setPen(QColor("#b00020") if row.flag else QColor("#202020"))
        painter.drawText(
            QRectF(left + span + 12, y, _VALUE_W - 12, _ROW),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            f"{round_half_up(row.percent, 1):.1f}{flag}",
        )
