"""Reading cases from rows, and writing the difference between two versions of a case."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from hemoscope.core import Box, Case, CaseInfo, Cell, CellKind, Embedding, Field
from hemoscope.core.serialize import models_from_list, models_to_list

__all__ = ["insert_case", "read_case", "write_change"]

log = logging.getLogger(__name__)

_CELL_COLS = (
    "case_id, field_id, id, position, x1, y1, x2, y2, kind, auto_class, "
    "final_class, score, probability, review, manual, review_reason, uncounted, embedding"
)
_INSERT_CELL = f"INSERT INTO cells ({_CELL_COLS}) VALUES ({', '.join('?' * 18)})"
# A cell's embedding is written once, with the cell: no correction changes it.
_UPDATE_CELL = (
    "UPDATE cells SET position = ?, x1 = ?, y1 = ?, x2 = ?, y2 = ?, kind = ?, "
    "auto_class = ?, final_class = ?, score = ?, probability = ?, review = ?, "
    "manual = ?, review_reason = ?, uncounted = ? WHERE case_id = ? AND field_id = ? AND id = ?"
)


def _info_values(info: CaseInfo) -> tuple[Any, ...]:
    when = None if info.specimen_date is None else info.specimen_date.isoformat()
    return (
        info.sample_id,
        info.patient_id,
        info.patient_name,
        when,
        info.operator,
        info.wbc_count,
        info.comments,
    )


def _cell_values(cell: Cell) -> tuple[Any, ...]:
    b = cell.box
    return (
        b.x1,
        b.y1,
        b.x2,
        b.y2,
        cell.kind.value,
        cell.auto_class,
        cell.final_class,
        cell.score,
        cell.probability,
        int(cell.review),
        int(cell.manual),
        cell.review_reason,
        cell.uncounted,
    )


def _embedding_blob(cell: Cell) -> bytes | None:
    return None if cell.embedding is None else cell.embedding.data


def _embedding(blob: object, cell_id: str) -> Embedding | None:
    if blob is None:
        return None
    try:
        return Embedding(bytes(blob))  # type: ignore[call-overload]
    except (TypeError, ValueError) as error:  # a damaged blob costs the map one cell
        log.warning("cell %s: embedding not read (%s)", cell_id, error)
        return None


def insert_case(conn: sqlite3.Connection, case: Case, now: str) -> None:
    conn.execute(
        "INSERT INTO cases (id, sample_id, patient_id, patient_name, specimen_date, operator,"
        " wbc_count, comments, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (case.id, *_info_values(case.info), now, now),
    )
    write_change(conn, Case(case.info, id=case.id), case)


def _insert_field(conn: sqlite3.Connection, case_id: str, fld: Field, position: int) -> None:
    conn.execute(
        "INSERT INTO fields (case_id, id, position, width, height, source, captured_at, "
        "models) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (case_id, fld.id, position, *_field_values(fld)),
    )
    conn.executemany(
        _INSERT_CELL,
        [
            (case_id, fld.id, c.id, i, *_cell_values(c), _embedding_blob(c))
            for i, c in enumerate(fld.cells)
        ],
    )


def _write_cells(conn: sqlite3.Connection, case_id: str, old: Field, new: Field) -> None:
    old_pos = {c.id: (i, c) for i, c in enumerate(old.cells)}
    new_ids = {c.id for c in new.cells}
    gone = [(case_id, old.id, cid) for cid in old_pos if cid not in new_ids]
    conn.executemany("DELETE FROM cells WHERE case_id = ? AND field_id = ? AND id = ?", gone)
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    for i, cell in enumerate(new.cells):
        before = old_pos.get(cell.id)
        if before is None:
            row = (case_id, new.id, cell.id, i, *_cell_values(cell), _embedding_blob(cell))
            inserts.append(row)
        elif before != (i, cell):
            updates.append((i, *_cell_values(cell), case_id, new.id, cell.id))
    conn.executemany(_UPDATE_CELL, updates)
    conn.executemany(_INSERT_CELL, inserts)
    if _field_values(old) != _field_values(new):
        conn.execute(
            "UPDATE fields SET width = ?, height = ?, source = ?, captured_at = ?, models = ? "
            "WHERE case_id = ? AND id = ?",
            (*_field_values(new), case_id, new.id),
        )


def _field_values(fld: Field) -> tuple[Any, ...]:
    models = json.dumps(models_to_list(fld.models), sort_keys=True)
    return (fld.width, fld.height, fld.source, fld.captured_at.isoformat(), models)


def write_change(conn: sqlite3.Connection, before: Case, after: Case) -> None:
    """Write what differs between two versions of one case (inside a transaction)."""
    cid = after.id
    if before.info != after.info:
        conn.execute(
            "UPDATE cases SET sample_id = ?, patient_id = ?, patient_name = ?, "
            "specimen_date = ?, operator = ?, wbc_count = ?, comments = ? "
            "WHERE id = ?",
            (*_info_values(after.info), cid),
        )
    if before.manual != after.manual:
        conn.execute("DELETE FROM manual_counts WHERE case_id = ?", (cid,))
        conn.executemany(
            "INSERT INTO manual_counts (case_id, class_id, count) VALUES (?,?,?)",
            [(cid, k, v) for k, v in after.manual.items()],
        )
    old = {f.id: (i, f) for i, f in enumerate(before.fields)}
    new_ids = {f.id for f in after.fields}
    for fid in old:
        if fid not in new_ids:
            conn.execute("DELETE FROM fields WHERE case_id = ? AND id = ?", (cid, fid))
    for i, fld in enumerate(after.fields):
        prior = old.get(fld.id)
        if prior is None:
            _insert_field(conn, cid, fld, i)
            continue
        if prior[0] != i:
            conn.execute(
                "UPDATE fields SET position = ? WHERE case_id = ? AND id = ?", (i, cid, fld.id)
            )
        if prior[1] != fld:
            _write_cells(conn, cid, prior[1], fld)


def _cell(row: Sequence[Any]) -> Cell:
    return Cell(
        row[0],
        Box(row[1], row[2], row[3], row[4]),
        CellKind(row[5]),
        row[6],
        row[7],
        float(row[8]),
        None if row[9] is None else float(row[9]),
        bool(row[10]),
        bool(row[11]),
        str(row[12] or ""),
        str(row[13] or ""),
        _embedding(row[14], row[0]),
    )


def read_case(conn: sqlite3.Connection, case_id: str) -> Case | None:
    """The case as stored, or ``None`` when there is no such case."""
    row = conn.execute(
        "SELECT sample_id, patient_id, patient_name, specimen_date, operator, "
        "wbc_count, comments FROM cases WHERE id = ?",
        (case_id,),
    ).fetchone()
    if row is None:
        return None
    info = CaseInfo(
        row[0],
        row[1],
        row[2],
        None if row[3] is None else date.fromisoformat(row[3]),
        row[4],
        None if row[5] is None else float(row[5]),
        row[6],
    )
    cells: dict[str, list[Cell]] = {}
    for r in conn.execute(
        "SELECT field_id, id, x1, y1, x2, y2, kind, auto_class, final_class,"
        " score, probability, review, manual, review_reason, uncounted, embedding FROM cells"
        " WHERE case_id = ? "
        "ORDER BY field_id, position",
        (case_id,),
    ):
        cells.setdefault(r[0], []).append(_cell(r[1:]))
    fields = tuple(
        Field(
            r[0],
            tuple(cells.get(r[0], ())),
            r[1],
            r[2],
            r[3],
            datetime.fromisoformat(r[4]),
            models_from_list(json.loads(r[5] or "[]")),
        )
        for r in conn.execute(
            "SELECT id, width, height, source, captured_at, models FROM fields "
            "WHERE case_id = ? ORDER BY position",
            (case_id,),
        )
    )
    manual = dict(
        conn.execute(
            "SELECT class_id, count FROM manual_counts WHERE case_id = ?", (case_id,)
        ).fetchall()
    )
    return Case(info, fields, manual, case_id)
