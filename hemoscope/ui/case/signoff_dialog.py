"""Case ▸ Sign Off: who performed the differential and who reviewed it.

The dialog names the case and its count, takes the two names (the reviewer is
required) and says what signing off means: the case is locked, and amending it needs a
reopen with a reason, both on the audit trail. It signs nothing itself.

Below the target (`shortfall`: what that means, with the width of the 95 % interval)
it says so in red and signs off only once the technician ticks "Sign off below the
target"; `note` then says what was confirmed, for the audit trail.
"""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

__all__ = ["SignOffDialog"]


class SignOffDialog(QDialog):
    def __init__(
        self,
        *,
        sample_id: str,
        summary: str,
        performed_by: str,
        reviewer: str = "",
        shortfall: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("signOffDialog")
        self.setWindowTitle(f"Sign off {sample_id}")
        self.setMinimumWidth(420)
        heading = QLabel(f"<b>{escape(sample_id)}</b><br>{escape(summary)}")
        self.performed_by = QLineEdit(performed_by)
        self.performed_by.setObjectName("performedBy")
        self.reviewed_by = QLineEdit(reviewer)
        self.reviewed_by.setObjectName("reviewedBy")
        self.reviewed_by.setPlaceholderText("required")
        form = QFormLayout()
        form.addRow("Performed by", self.performed_by)
        form.addRow("Reviewed by *", self.reviewed_by)
        note = QLabel(
            "After sign-off the case is locked. Amending it needs Case ▸ Reopen with a "
            "reason; both are kept on the audit trail."
        )
        note.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        if ok is not None:
            ok.setText("Sign Off")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(form)
        layout.addWidget(note)
        self.shortfall = shortfall
        self.below_target = QCheckBox("Sign off below the target", self)
        self.below_target.setObjectName("signOffBelowTarget")
        self.below_target.setVisible(bool(shortfall))
        if shortfall:
            warning = QLabel(escape(shortfall))
            warning.setObjectName("signOffShortfall")
            warning.setWordWrap(True)
            warning.setStyleSheet("color: #b42318; font-weight: bold;")
            layout.addWidget(warning)
            layout.addWidget(self.below_target)
        layout.addWidget(self.buttons)
        self.below_target.toggled.connect(self._validate)
        self.reviewed_by.textChanged.connect(self._validate)
        self._validate()
        (self.reviewed_by if not reviewer else self.buttons).setFocus()

    def names(self) -> tuple[str, str]:
        """``(performed by, reviewed by)`` as typed."""
        return self.performed_by.text().strip(), self.reviewed_by.text().strip()

    @property
    def note(self) -> str:
        """For the audit trail: the shortfall the signer confirmed ("" at the target)."""
        return f"below the target, confirmed: {self.shortfall}" if self.shortfall else ""

    def _ready(self) -> bool:
        confirmed = not self.shortfall or self.below_target.isChecked()
        return bool(self.names()[1]) and confirmed

    def _validate(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        if ok is not None:
            ok.setEnabled(self._ready())

    def _accept(self) -> None:
        if self._ready():
            self.accept()
