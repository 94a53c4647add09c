"""The red-cell picture in the differential panel: red cells per field (the estimate,
marked as such) and the whole red cells' diameters as a histogram, in µm once the camera
is calibrated (Settings ▸ Camera), else in pixels.

Drawn with QPainter at the widget's size, like the differential chart. The figures are
the core's (`red_cell_summary`); each field's red cells are measured once and kept while
the field is unchanged, and the redraw waits for the next turn of the event loop
(`Deferred`), so a capture is not slowed by it.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QShowEvent
from PySide6.QtWidgets import QWidget

from hemoscope.core import (
    DEFAULT_TAXONOMY,
    Case,
    RedCellSummary,
    Taxonomy,
    field_red_cells,
)
from hemoscope.ui.shared.deferred import Deferred

__all__ = ["RedCellHistogram", "red_cell_caption"]

BACKGROUND = QColor("#ffffff")
TEXT = QColor("#3e4c59")
AXIS = QColor("#9aa5b1")
BAR = QColor("#c62828")


def red_cell_caption(red: RedCellSummary | None) -> str:
    """One line: the red-cell estimate per field and the median diameter."""
    if red is None or red.mean_per_field is None:
        return "Red cells: no fields yet"
    text = f"Red cells ≈ {red.mean_per_field:.1f}/field (estimate)"
    if red.median_px is None:
        return text + "; no whole red cell measured"
    size = f"{red.median_px:.1f} px"
    if red.median_um is not None:
        size = f"{red.median_um:.2f} µm"
    return f"{text} · median ⌀ {size} ({red.n_measured} cells)"


class RedCellHistogram(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("redCellHistogram")
        self.setMinimumHeight(120)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAccessibleName("Red-cell diameters")
        self.summary: RedCellSummary | None = None
        self._case: Case | None = None
        self._um_per_px: float | None = None
        self._taxonomy: Taxonomy = DEFAULT_TAXONOMY
        self._measured: dict[str, tuple[object, int, tuple[float, ...]]] = {}
        self._update = Deferred(self._compute, widget=self)

    def sizeHint(self) -> QSize:
        return QSize(320, 140)

    def show_case(
        self,
        case: Case | None,
        um_per_px: float | None = None,
        taxonomy: Taxonomy = DEFAULT_TAXONOMY,
    ) -> None:
        """Show the red cells of ``case`` (None: no case); ``um_per_px``: the camera's
        scale, None or 0 when not calibrated. Computed on the next turn of the loop."""
        self._case, self._um_per_px, self._taxonomy = case, um_per_px or None, taxonomy
        self._update.request()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._update.shown()

    def flush(self) -> None:
        """Compute now what is pending (tests, and before reading `summary`)."""
        self._update.flush()

    def _compute(self) -> None:
        fields = () if self._case is None else self._case.fields
        measured: dict[str, tuple[object, int, tuple[float, ...]]] = {}
        per_field: list[int] = []
        diameters: list[float] = []
        area = 0.0
        for f in fields:
            known = self._measured.get(f.id)
            if known is None or known[0] is not f.cells:
                n, d = field_red_cells(f, self._taxonomy)
                known = (f.cells, n, tuple(float(x) for x in d))
            measured[f.id] = known
            per_field.append(known[1])
            diameters.extend(known[2])
            area += float(f.width) * float(f.height)
        self._measured = measured
        self.summary = (
            None
            if self._case is None
            else RedCellSummary(tuple(per_field), tuple(diameters), area, self._um_per_px)
        )
        self.setToolTip(red_cell_caption(self.summary))
        self.update()

    # -- painting ------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.fillRect(self.rect(), BACKGROUND)
            self._paint(p)
        finally:
            p.end()

    def _paint(self, p: QPainter) -> None:
        fm = self.fontMetrics()
        line = fm.height()
        w, h = self.width(), self.height()
        p.setPen(TEXT)
        caption = fm.elidedText(red_cell_caption(self.summary), Qt.TextElideMode.ElideRight, w - 12)
        p.drawText(QRectF(6, 2, w - 12, line), Qt.AlignmentFlag.AlignLeft, caption)
        hist = None if self.summary is None else self.summary.histogram()
        if hist is None or not hist.counts:
            return
        left, right, top, bottom = 30.0, 8.0, line + 8.0, h - line - 6.0
        plot_w, plot_h = w - left - right, bottom - top
        if plot_w < 20 or plot_h < 10:
            return
        top_n = max(hist.counts)
        n_bins = len(hist.counts)
        bar_w = plot_w / n_bins
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(BAR)
        for i, n in enumerate(hist.counts):
            bh = plot_h * n / top_n
            p.drawRect(QRectF(left + i * bar_w + 1, bottom - bh, max(bar_w - 2, 1), bh))
        p.setPen(QPen(AXIS, 1))
        p.drawLine(int(left), int(bottom), int(w - right), int(bottom))
        p.setPen(TEXT)
        p.drawText(
            QRectF(0, top - line / 2, left - 4, line), Qt.AlignmentFlag.AlignRight, str(top_n)
        )
        p.drawText(QRectF(0, bottom - line, left - 4, line), Qt.AlignmentFlag.AlignRight, "0")
        digits = 1 if hist.unit == "µm" else 0
        step = max(1, round(n_bins / max(1.0, plot_w / (fm.horizontalAdvance("00.0") * 2))))
        for i in range(0, n_bins - step + 1, step):  # the unit takes the last edge's place
            x = left + i * bar_w
            label = f"{hist.edges[i]:.{digits}f}"
            p.drawText(QRectF(x - 30, bottom + 2, 60, line), Qt.AlignmentFlag.AlignHCenter, label)
        p.drawText(
            QRectF(w - right - 60, bottom + 2, 60, line), Qt.AlignmentFlag.AlignRight, hist.unit
        )

    def bar_counts(self) -> tuple[int, ...]:
        """The counts drawn, bin by bin (for tests and the accessible description)."""
        return () if self.summary is None else self.summary.histogram().counts
