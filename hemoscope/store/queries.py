"""Read-only queries: the case list with its search, the audit trail, sign-off state."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from typing import Any

from hemoscope.core import SignOff

from .records import AuditRecord, CaseSummary

__all__ = ["audit_trail", "list_cases", "pending_review_cells", "sign_off_of"]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _sign_off(performed: Any, reviewed: Any, at: Any) -> SignOff | None:
    if at is None:
        return None
    return SignOff(str(performed or ""), str(reviewed or ""), datetime.fromisoformat(at))


def list_cases(
    conn: sqlite3.Connection,
    query: str = "",
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int | None = 500,
) -> list[CaseSummary]:
    """Cases, newest first, whose sample or patient id contains ``query``
    (case-insensitive; empty matches all) and whose date is within the range.

    The date is the specimen date when the case has one, else the day the case was
    created (UTC); both bounds are inclusive and either may be ``None``.
    """
    where: list[str] = []
    args: list[Any] = []
    text = query.strip()
    if text:
        pattern = f"%{_escape_like(text)}%"
        where.append("(sample_id LIKE ? ESCAPE '\\' OR patient_id LIKE ? ESCAPE '\\')")
        args += [pattern, pattern]
    day = "coalesce(specimen_date, substr(created_at, 1, 10))"
    if date_from is not None:
        where.append(f"{day} >= ?")
        args.append(date_from.isoformat())
    if date_to is not None:
        where.append(f"{day} <= ?")
        args.append(date_to.isoformat())
    sql = (
        "SELECT id, sample_id, patient_id, patient_name, specimen_date, operator, "
        "created_at, updated_at, "
        "(SELECT count(*) FROM fields f WHERE f.case_id = cases.id), "
        "performed_by, reviewed_by, signed_off_at FROM cases"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY created_at DESC, id"
    if limit is not None:
        sql += " LIMIT ?"
        args.append(int(limit))
    return [
        CaseSummary(
            r[0],
            r[1],
            r[2],
            r[3],
            None if r[4] is None else date.fromisoformat(r[4]),
            r[5],
            datetime.fromisoformat(r[6]),
            datetime.fromisoformat(r[7]),
            int(r[8]),
            _sign_off(r[9], r[10], r[11]),
        )
        for r in conn.execute(sql, args)
    ]


def audit_trail(conn: sqlite3.Connection, case_id: str) -> list[AuditRecord]:
    """Every audit record of a case, oldest first."""
    return [
        AuditRecord(r[0], r[1], datetime.fromisoformat(r[2]), *r[3:])
        for r in conn.execute(
            "SELECT seq, case_id, at, operator, action, field_id, cell_id, old_class, "
            "new_class, detail FROM audit WHERE case_id = ? ORDER BY seq",
            (case_id,),
        )
    ]


def sign_off_of(conn: sqlite3.Connection, case_id: str) -> SignOff | None:
    row = conn.execute(
        "SELECT performed_by, reviewed_by, signed_off_at FROM cases WHERE id = ?", (case_id,)
    ).fetchone()
    return None if row is None else _sign_off(*row)


def pending_review_cells(conn: sqlite3.Connection, case_id: str) -> list[tuple[str, str]]:
    """``(field_id, cell_id)`` of the cells flagged for review with no human decision
    (and in the tally: see `Cell.pending_review`)."""
    return [
        (r[0], r[1])
        for r in conn.execute(
            "SELECT c.field_id, c.id FROM cells c JOIN fields f "
            "ON f.case_id = c.case_id AND f.id = c.field_id "
            "WHERE c.case_id = ? AND c.review = 1 AND c.final_class IS NULL "
            "AND c.uncounted = '' "
            "ORDER BY f.position, c.position",
            (case_id,),
        )
    ]
