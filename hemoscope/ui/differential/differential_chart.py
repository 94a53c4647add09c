"""A live bar chart of the differential: one horizontal bar per class, in its colour, with
the reference range drawn behind it as a pale band. Painted with QPainter at the widget's
size, so it follows the panel's width and the desktop's font.

Why QPainter and not pyqtgraph (which draws the cell map): the chart is eight bars,
eight bands and one axis that change only when the tally does, and it neither pans nor
zooms, which is what pyqtgraph is for. Measured with ``benchmarks/bench_cellmap.py``
(1,000-cell case, 420 x 220 px, rendered with ``grab``, median of 30): one tally change
costs 0.66 ms with this chart and 1.08 ms with the same chart as pyqtgraph
``BarGraphItem``s, which also take 8 ms to build and lay their class names out as axis
ticks that do not follow the font's width as this chart's labels do. The QPainter chart
is faster at the one thing it does and needs no second plotting idiom in the panel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from hemoscope.core import ReferenceSet, Tally, Taxonomy

__all__ = ["DifferentialChart", "tick_step"]

BACKGROUND = QColor("#ffffff")
TEXT = QColor("#3e4c59")
AXIS = QColor("#9aa5b1")
GRID = QColor(154, 165, 177, 60)
BAND = QColor("#e4e8ec")
OUTLINE = QColor("#52606d")
NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0, 20.0, 25.0, 50.0)


@dataclass(frozen=True)
class _Row:
    label: str
    percent: float
    colour: QColor
    band: tuple[float, float] | None  # reference range, low and high %


class DifferentialChart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("differentialChart")
        self.setMinimumHeight(150)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAccessibleName("Differential chart")
        self.values: dict[str, float] = {}
        self._rows: list[_Row] = []
        self.x_max = 10.0

    def sizeHint(self) -> QSize:
        return QSize(320, 200)

    def show_tally(self, tally: Tally, taxonomy: Taxonomy, reference: ReferenceSet) -> None:
        listed = {r.class_id for r in tally.listed_rows()}  # finer classes when counted
        ids = [c for c in taxonomy.differential_ids() if c in listed or c not in tally.taxonomy]
        percents = tally.percentages()
        self.values = {c: percents.get(c, 0.0) for c in ids}
        rows = []
        for c in ids:
            rng = reference.get(c)
            band = None if rng is None else (rng.low, rng.low + max(rng.high - rng.low, 0.3))
            name, colour = _short(taxonomy[c].display_name), QColor(taxonomy[c].colour)
            rows.append(_Row(name, self.values[c], colour, band))
        self._rows = rows
        ends = [r.band[1] for r in rows if r.band is not None]
        self.x_max = min(100.0, max([10.0, *self.values.values(), *ends]) * 1.1)
        self.setAccessibleDescription(
            "; ".join(f"{r.label} {r.percent:.1f} %" for r in rows) or "no white cells counted"
        )
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.fillRect(self.rect(), BACKGROUND)
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QPainter) -> None:
        metrics = painter.fontMetrics()
        line = metrics.height()
        left = 8 + max((metrics.horizontalAdvance(r.label) for r in self._rows), default=0) + 8
        right = self.width() - 8 - metrics.horizontalAdvance("100") / 2
        top, bottom = 6.0, self.height() - 2.2 * line
        if right - left < 20 or bottom - top < 10:
            return
        span = right - left

        def x_of(percent: float) -> float:
            return left + span * min(max(percent, 0.0), self.x_max) / self.x_max

        # grid, axis and its ticks
        step = tick_step(self.x_max)
        for i in range(int(self.x_max / step) + 1):
            x = x_of(i * step)
            painter.setPen(QPen(GRID, 1))
            painter.drawLine(QPointF(x, top), QPointF(x, bottom))
            painter.setPen(TEXT)
            painter.drawText(
                QRectF(x - 30, bottom + 2, 60, line), Qt.AlignmentFlag.AlignCenter, f"{i * step:g}"
            )
        painter.setPen(QPen(AXIS, 1))
        painter.drawLine(QPointF(left, top), QPointF(left, bottom))
        painter.drawLine(QPointF(left, bottom), QPointF(right, bottom))
        painter.setPen(TEXT)
        painter.drawText(
            QRectF(left, bottom + 1.1 * line, span, line), Qt.AlignmentFlag.AlignCenter, "% of WBC"
        )
        if not self._rows:
            return
        # one row per class, the first at the top as in the table
        row_h = (bottom - top) / len(self._rows)
        for i, row in enumerate(self._rows):
            y = top + i * row_h
            if row.band is not None:
                x0, x1 = x_of(row.band[0]), x_of(row.band[1])
                painter.fillRect(QRectF(x0, y + 0.1 * row_h, max(x1 - x0, 1.0), 0.8 * row_h), BAND)
            if row.percent > 0:
                painter.setPen(QPen(OUTLINE, 0.5))
                painter.setBrush(row.colour)
                width = max(x_of(row.percent) - left, 1.0)
                painter.drawRect(QRectF(left, y + 0.225 * row_h, width, 0.55 * row_h))
            painter.setPen(TEXT)
            painter.drawText(
                QRectF(0, y, left - 8, row_h),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                row.label,
            )


def tick_step(x_max: float, most: int = 6) -> float:
    """The smallest 'nice' step that puts at most ``most`` intervals on 0..x_max."""
    for step in NICE_STEPS:
        if math.ceil(x_max / step) <= most:
            return step
    return 100.0


def _short(name: str) -> str:
    """ "Neutrophil (segmented)" -> "Neutrophil"; long names keep their first word."""
    name = name.split(" (")[0]
    return name if len(name) <= 12 else name.split()[0]
