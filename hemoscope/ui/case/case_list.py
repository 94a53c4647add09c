"""Case ▸ Open Case: the saved cases, searched by sample or patient ID and by date.

`CaseListDialog` asks `find(query, date_from, date_to)` (the backend's `list_cases`) as
the technician types (after a short pause, so a fast typist does not query per key) and
shows sample, patient, specimen date, when it was started, fields and whether it is
signed off. Enter or a double-click opens the chosen case (`chosen_id`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hemoscope.store import CaseSummary

__all__ = ["COLUMNS", "CaseListDialog", "Finder"]

Finder = Callable[[str, date | None, date | None], Sequence[CaseSummary]]
COLUMNS = ("Sample ID", "Patient ID", "Patient", "Specimen date", "Started", "Fields", "Status")
SEARCH_DELAY_MS = 250
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class CaseListDialog(QDialog):
    def __init__(
        self, find: Finder, *, current_id: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("caseListDialog")
        self.setWindowTitle("Open case")
        self.resize(820, 480)
        self._find = find
        self._current_id = current_id
        self._ids: list[str] = []
        self.chosen_id = ""

        self.search = QLineEdit()
        self.search.setObjectName("caseSearch")
        self.search.setPlaceholderText("Search sample ID or patient ID")
        self.search.setClearButtonEnabled(True)
        self.use_dates = QCheckBox("Dates")
        self.date_from = _date_edit(QDate.currentDate().addDays(-30))
        self.date_to = _date_edit(QDate.currentDate())
        for edit in (self.date_from, self.date_to):
            edit.setEnabled(False)
            edit.dateChanged.connect(self._schedule)
        self.use_dates.toggled.connect(self._dates_toggled)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("caseTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(False)
        self.table.doubleClicked.connect(lambda _index: self._accept())
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.count = QLabel()
        self.count.setObjectName("caseCount")

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)

        filters = QHBoxLayout()
        filters.addWidget(self.search, 1)
        filters.addWidget(self.use_dates)
        filters.addWidget(self.date_from)
        filters.addWidget(QLabel("to"))
        filters.addWidget(self.date_to)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count)
        layout.addWidget(self.buttons)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(self._schedule)
        self.search.returnPressed.connect(self._accept)
        self.refresh()

    # -- searching -----------------------------------------------------------------------
    def refresh(self) -> None:
        """Run the search now and show what it found."""
        self._timer.stop()
        dates = self.use_dates.isChecked()
        start = _py_date(self.date_from.date()) if dates else None
        end = _py_date(self.date_to.date()) if dates else None
        try:
            found = list(self._find(self.search.text(), start, end))
        except Exception as error:  # the database went away: say so, keep the dialog
            self.count.setText(f"The case list could not be read: {error}")
            found = []
        else:
            self.count.setText(_count_text(len(found), bool(self.search.text().strip() or dates)))
        self._show(found)

    def _schedule(self) -> None:
        self._timer.start()

    def _dates_toggled(self, on: bool) -> None:
        self.date_from.setEnabled(on)
        self.date_to.setEnabled(on)
        self.refresh()

    def _show(self, cases: list[CaseSummary]) -> None:
        self.table.setRowCount(0)
        self._ids = []
        for summary in cases:
            row = self.table.rowCount()
            self.table.insertRow(row)
            values = (
                summary.sample_id,
                summary.patient_id,
                summary.patient_name,
                "" if summary.specimen_date is None else summary.specimen_date.isoformat(),
                summary.created_at.astimezone().strftime("%Y-%m-%d %H:%M"),
                str(summary.n_fields),
                _status(summary, self._current_id),
            )
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                if column == 5:
                    item.setTextAlignment(RIGHT)
                self.table.setItem(row, column, item)
            self._ids.append(summary.id)
        if self._ids:
            self.table.selectRow(0)
        self._selection_changed()

    # -- choosing ------------------------------------------------------------------------
    def _selected_id(self) -> str:
        rows = self.table.selectionModel().selectedRows()
        return self._ids[rows[0].row()] if rows else ""

    def _selection_changed(self) -> None:
        button = self.buttons.button(QDialogButtonBox.StandardButton.Open)
        if button is not None:
            button.setEnabled(bool(self._selected_id()))

    def _accept(self) -> None:
        if self._timer.isActive():  # Enter right after typing: search first
            self.refresh()
        chosen = self._selected_id()
        if chosen:
            self.chosen_id = chosen
            self.accept()


def _date_edit(day: QDate) -> QDateEdit:
    edit = QDateEdit(day)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    return edit


def _status(summary: CaseSummary, current_id: str) -> str:
    parts = []
    if summary.sign_off is not None:
        when = summary.sign_off.at.astimezone().strftime("%Y-%m-%d")
        parts.append(f"signed off by {summary.sign_off.reviewed_by} ({when})")
    else:
        parts.append("open")
    if summary.id == current_id:
        parts.append("on screen now")
    return ", ".join(parts)


def _count_text(n: int, filtered: bool) -> str:
    what = "matching case" if filtered else "case"
    return f"{n} {what}{'s' if n != 1 else ''}"


def _py_date(day: QDate) -> date:
    return date(day.year(), day.month(), day.day())
