"""Case ▸ New Case / Case Details: the request form of a sample.

`CaseInfoDialog` edits a `CaseInfo`: the sample id (required: OK stays disabled until
there is one), patient id and name, specimen date (optional), operator, the analyser's
WBC count (optional; it enables absolute counts in the report) and comments. It returns
the new value from `info()` and saves nothing itself.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, QLocale
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from hemoscope.core import CaseInfo
from hemoscope.ui.case.workspace import PROVISIONAL_PREFIX, is_provisional

__all__ = ["CaseInfoDialog"]


class CaseInfoDialog(QDialog):
    def __init__(
        self,
        info: CaseInfo | None = None,
        *,
        operator: str = "",
        title: str = "Case details",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("caseInfoDialog")
        self.setWindowTitle(title)
        self.setMinimumWidth(460)
        keep = info if info is not None and not is_provisional(info) else None
        self.sample_id = QLineEdit("" if keep is None else keep.sample_id)
        self.sample_id.setObjectName("caseSampleId")
        self.sample_id.setPlaceholderText("required, as on the tube")
        self.patient_id = QLineEdit("" if info is None else info.patient_id)
        self.patient_name = QLineEdit("" if info is None else info.patient_name)
        self.has_date = QCheckBox("known")
        self.specimen_date = QDateEdit()
        self.specimen_date.setCalendarPopup(True)
        self.specimen_date.setDisplayFormat("yyyy-MM-dd")
        when = None if info is None else info.specimen_date
        self.has_date.setChecked(when is not None)
        self.specimen_date.setDate(_qdate(when or date.today()))
        self.specimen_date.setEnabled(when is not None)
        self.has_date.toggled.connect(self.specimen_date.setEnabled)
        self.operator = QLineEdit(operator if info is None or not info.operator else info.operator)
        self.wbc = QLineEdit(
            "" if info is None or info.wbc_count is None else f"{info.wbc_count:g}"
        )
        self.wbc.setObjectName("caseWbcCount")
        self.wbc.setPlaceholderText("optional, ×10⁹/L")
        validator = QDoubleValidator(0.01, 1000.0, 2, self.wbc)
        validator.setLocale(QLocale.c())
        validator.setNotation(QDoubleValidator.Notation.StandardNotation)
        self.wbc.setValidator(validator)
        self.comments = QPlainTextEdit("" if info is None else info.comments)
        self.comments.setTabChangesFocus(True)
        self.comments.setFixedHeight(80)

        date_row = QHBoxLayout()
        date_row.addWidget(self.specimen_date, 1)
        date_row.addWidget(self.has_date)
        form = QFormLayout()
        form.addRow("Sample ID *", self.sample_id)
        form.addRow("Patient ID", self.patient_id)
        form.addRow("Patient name", self.patient_name)
        form.addRow("Specimen date", date_row)
        form.addRow("Operator", self.operator)
        form.addRow("Analyser WBC", self.wbc)
        form.addRow("Comments", self.comments)
        self.problem = QLabel()
        self.problem.setObjectName("caseInfoProblem")
        self.problem.setStyleSheet("color: #b42318;")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("The analyser WBC count gives absolute counts in the report."))
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.sample_id.textChanged.connect(self._validate)
        self.wbc.textChanged.connect(self._validate)
        self._validate()

    def info(self) -> CaseInfo | None:
        """The request form as typed; None (with the reason shown) while it is invalid."""
        sample = self.sample_id.text().strip()
        if not sample:
            self.problem.setText("Enter the sample ID.")
            return None
        if sample.startswith(PROVISIONAL_PREFIX):
            self.problem.setText(f"A sample ID cannot start with “{PROVISIONAL_PREFIX.strip()}”.")
            return None
        wbc_text = self.wbc.text().strip().replace(",", ".")
        try:
            wbc = float(wbc_text) if wbc_text else None
            info = CaseInfo(
                sample_id=sample,
                patient_id=self.patient_id.text().strip(),
                patient_name=self.patient_name.text().strip(),
                specimen_date=_py_date(self.specimen_date.date())
                if self.has_date.isChecked()
                else None,
                operator=self.operator.text().strip(),
                wbc_count=wbc,
                comments=self.comments.toPlainText().strip(),
            )
        except ValueError as error:
            self.problem.setText(f"Analyser WBC: {error}")
            return None
        self.problem.setText("")
        return info

    def _validate(self) -> None:
        ok = self.info() is not None
        button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        if button is not None:
            button.setEnabled(ok)

    def _accept(self) -> None:
        if self.info() is not None:
            self.accept()


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _py_date(day: QDate) -> date:
    return date(day.year(), day.month(), day.day())
