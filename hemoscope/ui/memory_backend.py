"""Cases kept in memory only: the station's fallback when there is no case database.

`MemoryBackend` does what `StoreBackend` does (the core's commands, an audit trail, the
case list, sign-off and its lock) without writing anything anywhere; ``saves`` is False
and the window says "not saved". It is what the smoke test and most GUI tests run on,
and what the station runs on when the database cannot be opened.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import numpy.typing as npt

from hemoscope.core import AddField, AuditEntry, Case, CaseInfo, Correction, Field
from hemoscope.store import (
    AuditRecord,
    CaseLockedError,
    CaseNotFoundError,
    CaseSummary,
    SignOffError,
    SignOffRecord,
)
from hemoscope.store.audit_entries import auto_entries
from hemoscope.ui.case_backend import CALL_TIMEOUT_S, ErrorCallback

__all__ = ["MemoryBackend", "login_name"]

Image = npt.NDArray[np.uint8]


@dataclass
class _Kept:
    case: Case
    created_at: datetime
    updated_at: datetime
    audit: list[AuditRecord] = field(default_factory=list)
    sign_off: SignOffRecord | None = None


class MemoryBackend:
    """The cases of this session, in memory (nothing is written anywhere)."""

    saves = False
    description = "not saved (no case database)"

    def __init__(self, operator: str | None = None) -> None:
        self.operator = operator if operator is not None else login_name()
        self._images: dict[str, Image] = {}
        self._cases: dict[str, _Kept] = {}
        self._seq = 0
        self.on_error: ErrorCallback | None = None

    # -- actions -------------------------------------------------------------------------
    def create_case(self, info: CaseInfo) -> Case:
        case = Case(info)
        now = datetime.now(UTC)
        self._cases[case.id] = _Kept(case, now, now)
        self._audit(case, [AuditEntry("create", None, None, None, None, "Create case")])
        return case

    def add_field(self, case: Case, field: Field, image: Image) -> tuple[Case, AddField]:
        command = AddField(field)
        after = self._commit(case, command.apply(case), [command.audit(), *auto_entries(field)])
        self._images[field.id] = image
        return after, command

    def apply(
        self, case: Case, command: Correction, *, redo: bool = False
    ) -> tuple[Case, Correction]:
        self._check_open(case)
        bound = command.bind(case)
        entry = bound.audit()
        if redo:
            entry = AuditEntry(
                f"redo:{entry.action}", entry.field_id, entry.cell_id,
                entry.old_class, entry.new_class, f"redo: {entry.detail}",
            )  # fmt: skip
        return self._commit(case, bound.apply(case), [entry]), bound

    def revert(self, case: Case, command: Correction) -> Case:
        self._check_open(case)
        return self._commit(case, command.revert(case), [command.audit().undone()])

    def update_info(self, case: Case, info: CaseInfo) -> Case:
        if info == case.info:
            return case
        entry = AuditEntry("edit-info", None, None, None, None, "Edit case information")
        return self._commit(case, case.with_info(info), [entry])

    # -- reads ---------------------------------------------------------------------------
    def field_image(self, case: Case, field_id: str) -> Image | None:
        return self._images.get(field_id)

    def reload(self, case: Case) -> Case:
        kept = self._cases.get(case.id)
        return case if kept is None else kept.case

    def list_cases(
        self, query: str = "", *, date_from: date | None = None, date_to: date | None = None
    ) -> list[CaseSummary]:
        text = query.strip().lower()
        found = []
        for kept in sorted(self._cases.values(), key=lambda k: k.created_at, reverse=True):
            info = kept.case.info
            day = info.specimen_date or kept.created_at.date()
            if text and text not in info.sample_id.lower() and text not in info.patient_id.lower():
                continue
            if (date_from and day < date_from) or (date_to and day > date_to):
                continue
            summary = CaseSummary(
                kept.case.id, info.sample_id, info.patient_id, info.patient_name,
                info.specimen_date, info.operator, kept.created_at, kept.updated_at,
                len(kept.case.fields), kept.sign_off,
            )  # fmt: skip
            found.append(summary)
        return found

    def open_case(self, case_id: str) -> tuple[Case, SignOffRecord | None]:
        kept = self._cases.get(case_id)
        if kept is None:
            raise CaseNotFoundError(f"no case {case_id!r} in this session")
        return kept.case, kept.sign_off

    def close_case(self, case: Case) -> None:
        return None  # kept for the case list of this session

    def audit_trail(self, case: Case) -> list[AuditRecord]:
        kept = self._cases.get(case.id)
        return [] if kept is None else list(kept.audit)

    # -- sign-off ------------------------------------------------------------------------
    def record_sign_off(self, case: Case, *, performed_by: str, reviewed_by: str) -> SignOffRecord:
        if not reviewed_by.strip():
            raise ValueError("sign-off needs the reviewer's name")
        self._check_open(case)
        pending = [(f.id, c.id) for f in case.fields for c in f.cells if c.pending_review]
        if pending:
            raise SignOffError(case.info.sample_id, pending)
        kept = self._kept(case)
        kept.sign_off = SignOffRecord(performed_by, reviewed_by, datetime.now(UTC))
        detail = f"Signed off: performed by {performed_by}, reviewed by {reviewed_by}"
        self._audit(case, [AuditEntry("sign-off", None, None, None, None, detail)], reviewed_by)
        return kept.sign_off

    def reopen(self, case: Case, *, reason: str) -> None:
        if not reason.strip():
            raise ValueError("reopening a signed-off case needs a reason")
        kept = self._kept(case)
        if kept.sign_off is None:
            return
        kept.sign_off = None
        self._audit(case, [AuditEntry("reopen", None, None, None, None, f"Reopened: {reason}")])

    def flush(self, timeout_s: float = CALL_TIMEOUT_S) -> None:
        return None

    def close(self) -> None:
        return None

    # -- internals -----------------------------------------------------------------------
    def _kept(self, case: Case) -> _Kept:
        kept = self._cases.get(case.id)
        if kept is None:  # a case made elsewhere (tests build cases directly)
            now = datetime.now(UTC)
            kept = self._cases[case.id] = _Kept(case, now, now)
        return kept

    def _check_open(self, case: Case) -> None:
        record = self._kept(case).sign_off
        if record is not None:
            raise CaseLockedError(
                f"case {case.info.sample_id!r} was signed off by {record.reviewed_by}; "
                "reopen it to amend it"
            )

    def _commit(self, before: Case, after: Case, entries: list[AuditEntry]) -> Case:
        self._check_open(before)
        kept = self._kept(before)
        kept.case = after
        kept.updated_at = datetime.now(UTC)
        self._audit(after, entries)
        return after

    def _audit(self, case: Case, entries: list[AuditEntry], operator: str = "") -> None:
        kept = self._kept(case)
        now = datetime.now(UTC)
        for e in entries:
            self._seq += 1
            record = AuditRecord(
                self._seq, case.id, now, operator or self.operator, e.action,
                e.field_id, e.cell_id, e.old_class, e.new_class, e.detail,
            )  # fmt: skip
            kept.audit.append(record)


def login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment (a service account)
        return "unknown"
