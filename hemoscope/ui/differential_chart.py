"""A live bar chart of the differential (pyqtgraph): one horizontal bar per class, in its
colour, with the reference range drawn behind it as a pale band."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from hemoscope.core import ReferenceSet, Tally, Taxonomy

__all__ = ["DifferentialChart"]


class DifferentialChart(pg.PlotWidget):  # type: ignore[misc]
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="#ffffff")
        self.setObjectName("differentialChart")
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        plot = self.getPlotItem()
        plot.showGrid(x=True, y=False, alpha=0.15)
        plot.setLabel("bottom", "% of WBC")
        for axis in ("left", "bottom"):
            plot.getAxis(axis).setTextPen(QColor("#3e4c59"))
            plot.getAxis(axis).setPen(QColor("#9aa5b1"))
        plot.invertY(True)  # first class at the top, as in the table
        self._ranges = pg.BarGraphItem(x0=[], y=[], height=0.8, width=[], brush="#e4e8ec")
        self._bars = pg.BarGraphItem(x0=[], y=[], height=0.55, width=[], brushes=[])
        plot.addItem(self._ranges)
        plot.addItem(self._bars)
        self.setMinimumHeight(150)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.values: dict[str, float] = {}

    def show_tally(self, tally: Tally, taxonomy: Taxonomy, reference: ReferenceSet) -> None:
        ids = [c for c in taxonomy.differential_ids() if c in taxonomy]
        percents = tally.percentages()
        self.values = {c: percents.get(c, 0.0) for c in ids}
        y = list(range(len(ids)))
        self._bars.setOpts(
            x0=[0.0] * len(ids),
            y=y,
            width=[self.values[c] for c in ids],
            brushes=[QColor(taxonomy[c].colour) for c in ids],
            pens=[pg.mkPen("#52606d", width=0.5) for _ in ids],
        )
        lows, widths, ys = [], [], []
        for i, c in enumerate(ids):
            rng = reference.get(c)
            if rng is not None:
                lows.append(rng.low)
                widths.append(max(rng.high - rng.low, 0.3))
                ys.append(i)
        self._ranges.setOpts(x0=lows, y=ys, width=widths, pen=pg.mkPen(None))
        axis = self.getPlotItem().getAxis("left")
        axis.setTicks([[(i, _short(taxonomy[c].display_name)) for i, c in enumerate(ids)]])
        ends = [lo + w for lo, w in zip(lows, widths, strict=True)]
        top = max([10.0, *self.values.values(), *ends])
        self.setXRange(0, min(100.0, top * 1.1), padding=0)
        self.setYRange(-0.6, len(ids) - 0.4, padding=0)


def _short(name: str) -> str:
    """ "Neutrophil (segmented)" -> "Neutrophil"; long names keep their first word."""
    name = name.split(" (")[0]
    return name if len(name) <= 12 else name.split()[0]
