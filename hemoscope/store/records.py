"""Plain values the store returns: audit records and case-list summaries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from hemoscope.core import SignOff

__all__ = ["AuditRecord", "CaseSummary"]


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One line of a case's audit trail.

    ``action`` is ``"create"``, ``"edit-info"``, ``"auto"`` (a classifier call, one per
    classified cell of a new field), a correction's action (``"relabel"``, ``"confirm"``,
    ``"delete"``, ``"add-cell"``, ``"add-field"``, ``"delete-field"``, ``"manual-count"``),
    ``"undo:<action>"`` for an undone one, ``"sign-off"`` or ``"reopen"``.
    """

    seq: int
    case_id: str
    at: datetime
    operator: str
    action: str
    field_id: str | None
    cell_id: str | None
    old_class: str | None
    new_class: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class CaseSummary:
    """One row of the case list (no fields or cells loaded)."""

    id: str
    sample_id: str
    patient_id: str
    patient_name: str
    specimen_date: date | None
    operator: str
    created_at: datetime
    updated_at: datetime
    n_fields: int
    sign_off: SignOff | None

    @property
    def signed_off(self) -> bool:
        return self.sign_off is not None
