"""The running differential: sample, target and progress, the table, NRBC, the chart.

The panel only shows a `Tally` (`show_tally`) and reports what the technician edits here:
the target (`target_changed`: 100, 200 or a custom number) and the sample id
(`sample_id_edited`). When the target is reached it turns the progress bar green and
shows a banner (`show_target_reached`); the beep is the window's.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hemoscope.core import DEFAULT_REFERENCE, DEFAULT_TAXONOMY, ReferenceSet, Tally, Taxonomy
from hemoscope.ui.differential.differential_chart import DifferentialChart
from hemoscope.ui.differential.red_cell_histogram import RedCellHistogram
from hemoscope.ui.differential.tally_text import TallyLine, progress_text, summary_text, tally_lines
from hemoscope.ui.settings.settings_model import MAX_TARGET, TARGET_CHOICES
from hemoscope.ui.shared.deferred import Deferred

__all__ = ["COLUMNS", "DifferentialPanel"]

COLUMNS = ("Key", "Class", "n", "%", "95% CI", "Ref.")
CUSTOM = "Custom…"
FLAG_COLOURS = {"H": "#b42318", "L": "#1d4ed8"}


class DifferentialPanel(QWidget):
    target_changed = Signal(int)
    sample_id_edited = Signal(str)
    editing_done = Signal()  # Enter or Escape in the sample box: the picture takes the keys

    def __init__(
        self,
        *,
        taxonomy: Taxonomy = DEFAULT_TAXONOMY,
        reference: ReferenceSet = DEFAULT_REFERENCE,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("differentialPanel")
        self.taxonomy = taxonomy
        self.reference = reference
        self._quiet = False

        self.sample_id = QLineEdit(self)
        self.sample_id.setObjectName("sampleId")
        self.sample_id.setPlaceholderText("Sample id (set on the first capture)")
        # Only a click puts the cursor here: Tab never does, so a class key or Space
        # never types into the sample id by accident.
        self.sample_id.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.sample_id.editingFinished.connect(self._sample_edited)
        self.sample_id.returnPressed.connect(self.editing_done)
        self.saved = QLabel(self)
        self.saved.setObjectName("savedLabel")
        self.target = QComboBox(self)
        self.target.setObjectName("targetChoice")
        self.target.addItems([str(n) for n in TARGET_CHOICES] + [CUSTOM])
        self.target.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.custom = QSpinBox(self)
        self.custom.setRange(1, MAX_TARGET)
        self.custom.setValue(300)
        self.custom.setSuffix(" WBC")
        self.custom.setVisible(False)
        self.custom.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.target.currentTextChanged.connect(self._target_chosen)
        self.custom.valueChanged.connect(self._custom_changed)

        self.progress = QProgressBar(self)
        self.progress.setObjectName("targetProgress")
        self.progress.setTextVisible(True)
        self.reached = QLabel(self)
        self.reached.setObjectName("targetReached")
        self.reached.setVisible(False)
        self.reached.setWordWrap(True)

        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("tallyTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setWordWrap(False)
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.table.horizontalHeader()
        # Columns are measured once per update (`resizeColumnsToContents`), not on every
        # cell's change as ResizeToContents would (a hundred measurements per capture).
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.summary = QLabel(self)
        self.summary.setObjectName("tallySummary")
        self.summary.setWordWrap(True)
        self.chart = DifferentialChart(self)
        self.red_cells = RedCellHistogram(self)  # shown by the window (needs the case)

        form = QFormLayout()
        form.addRow("Sample", self.sample_id)
        form.addRow("", self.saved)
        form.addRow("Target", self.target)
        form.addRow("", self.custom)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.reached)
        layout.addWidget(self.table)
        layout.addWidget(self.summary)
        layout.addWidget(self.chart, 1)
        layout.addWidget(self.red_cells)
        self.tally: Tally | None = None
        self._chart = Deferred(self._draw_chart, widget=self.chart)

    def _draw_chart(self) -> None:
        if self.tally is not None:
            self.chart.show_tally(self.tally, self.taxonomy, self.reference)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._chart.shown()

    # -- showing -------------------------------------------------------------------------
    def show_tally(self, tally: Tally) -> None:
        self.tally = tally
        self._show_progress(tally)
        lines = tally_lines(tally, self.taxonomy, self.reference)
        rows_changed = self.table.rowCount() != len(lines)
        if rows_changed:
            self.table.setRowCount(len(lines))
        changed = False
        for r, line in enumerate(lines):
            percent = f"{line.percent} {line.flag}" if line.flag else line.percent
            texts = (line.key, line.name, line.count, percent, line.ci, line.reference)
            for c, text in enumerate(texts):
                item = self.table.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    self.table.setItem(r, c, item)
                recoloured = c == 0 and item.background().color().name() != line.colour
                if item.text() != text or recoloured:
                    item.setText(text)
                    self._style(item, c, line)
                    changed = True
        if changed:
            for column in range(len(COLUMNS)):
                if column != 1:
                    self.table.resizeColumnToContents(column)
        if rows_changed:
            self._fit_table()
        self.summary.setText(summary_text(tally))
        self._chart.request()  # the chart can wait for the next turn of the event loop
        self._set_target_quietly(tally.target)

    def _show_progress(self, tally: Tally) -> None:
        bar = self.progress
        if bar.maximum() != tally.target:
            bar.setRange(0, tally.target)
        value = min(tally.denominator, tally.target)
        text = progress_text(tally)
        if bar.value() != value or bar.format() != text:
            bar.setUpdatesEnabled(False)  # setValue would repaint at once, synchronously
            bar.setValue(value)
            bar.setFormat(text)
            bar.setUpdatesEnabled(True)  # ... this schedules one repaint instead
        if bar.property("reached") != tally.target_reached:
            bar.setProperty("reached", tally.target_reached)
            bar.style().unpolish(bar)  # the style sheet colours the bar by "reached"
            bar.style().polish(bar)
        if not tally.target_reached:
            self.reached.setVisible(False)
        elif self.reached.isVisible():  # the count went on: say what it is now
            self.reached.setText(_reached_text(tally))

    def _style(self, item: QTableWidgetItem, column: int, line: TallyLine) -> None:
        if column != 1:
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
        if column == 0:
            item.setBackground(QBrush(QColor(line.colour)))
            item.setForeground(QBrush(_ink(line.colour)))
        elif column == 3:
            item.setForeground(QBrush(QColor(FLAG_COLOURS.get(line.flag, "#1f2933"))))
            tip = {"H": "above the reference range", "L": "below it"}.get(line.flag, "")
            item.setToolTip(tip)
        if not line.in_differential and column != 0:
            item.setForeground(QBrush(QColor("#616e7c")))

    def _fit_table(self) -> None:
        """As tall as its rows: the chart gets the rest of the panel."""
        height = self.table.horizontalHeader().height() + 2 * self.table.frameWidth()
        height += sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        self.table.setFixedHeight(height + 2)

    def show_target_reached(self, tally: Tally) -> None:
        self.reached.setText(_reached_text(tally))
        self.reached.setVisible(True)

    def show_case(self, sample_id: str, saved: str, *, locked: bool = False) -> None:
        """The case's sample id and where it is kept; `locked`: signed off (read only)."""
        if not self.sample_id.hasFocus() or locked:
            self.sample_id.setText(sample_id)
        self.sample_id.setReadOnly(locked)
        self.saved.setText(saved)
        self.saved.setWordWrap(True)

    def set_taxonomy(self, taxonomy: Taxonomy, reference: ReferenceSet) -> None:
        self.taxonomy = taxonomy
        self.reference = reference
        if self.tally is not None:
            self.show_tally(self.tally)

    # -- editing -------------------------------------------------------------------------
    def _sample_edited(self) -> None:
        text = self.sample_id.text().strip()
        if text:
            self.sample_id_edited.emit(text)

    def _target_chosen(self, text: str) -> None:
        self.custom.setVisible(text == CUSTOM)
        if self._quiet:
            return
        self.target_changed.emit(self.custom.value() if text == CUSTOM else int(text))

    def _custom_changed(self, value: int) -> None:
        if not self._quiet and self.target.currentText() == CUSTOM:
            self.target_changed.emit(value)

    def _set_target_quietly(self, target: int) -> None:
        self._quiet = True
        try:
            if target in TARGET_CHOICES:
                self.target.setCurrentText(str(target))
            else:
                self.target.setCurrentText(CUSTOM)
                self.custom.setValue(target)
        finally:
            self._quiet = False


def _reached_text(tally: Tally) -> str:
    over = tally.denominator - tally.target
    counted = f"{tally.target} white cells counted" + (f", {over} over" if over > 0 else "")
    return f"✔ Target reached: {counted}. Review flagged cells, then export the report."


def _ink(background: str) -> QColor:
    """Black or white text, whichever reads better on `background`."""
    c = QColor(background)
    luminance = 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue()
    return QColor("#000000" if luminance > 140 else "#ffffff")
