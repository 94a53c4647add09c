"""Why a cell is flagged for review is saved with it: round trips through every change,
the audit trail, and schema 4's migration of an older database."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from case_session import CaseSession
from store_factories import make_field, make_image

from hemoscope.core import (
    REASON_DISAGREE,
    REASON_LOW_CONFIDENCE,
    REASON_UNFAMILIAR,
    CaseInfo,
    Confirm,
    Field,
    Relabel,
    join_reasons,
)
from hemoscope.store import SCHEMA_VERSION, CaseStore, migrate

BOTH = join_reasons([REASON_LOW_CONFIDENCE, REASON_UNFAMILIAR])


def flagged_field(seed: int) -> Field:
    """`make_field` with reasons: cell 0 low confidence and unfamiliar, cell 3 a
    disagreement; cells 1 and 2 not flagged."""
    fld = make_field(seed, n_wbc=4, review_every=3)
    cells = list(fld.cells)
    cells[0] = replace(cells[0], review_reason=BOTH)
    cells[3] = replace(cells[3], auto_class="platelet", review_reason=REASON_DISAGREE)
    return replace(fld, cells=tuple(cells))


def _stored_reasons(store: CaseStore, field_id: str) -> list[tuple[str, int, str]]:
    return store.conn.execute(
        "SELECT id, review, review_reason FROM cells WHERE field_id = ? AND kind = 'wbc' "
        "ORDER BY position",
        (field_id,),
    ).fetchall()


def test_reasons_round_trip_through_corrections_and_undo(tmp_path: Path) -> None:
    db = tmp_path / "cases.db"
    with CaseStore.open(db) as store:
        s = CaseSession.new(store, CaseInfo("S-R1"), operator="AB")
        f = flagged_field(1)
        s.add_field(f, make_image(1))
        w0, w1, _, w3 = (c.id for c in f.cells[:4])
        assert _stored_reasons(store, f.id) == [
            (w0, 1, BOTH),
            (w1, 0, ""),
            (f.cells[2].id, 0, ""),
            (w3, 1, REASON_DISAGREE),
        ]
        s.do(Relabel(f.id, w0, "blast"))
        s.do(Confirm(f.id, w3))
        s.undo()
        s.redo()
        current = s.case
        cell = current.fields[0].get(w0)
        assert cell is not None and cell.final_class == "blast" and cell.review_reason == BOTH
        assert store.load_case(current.id) == current
    with CaseStore.open(db) as again:
        back = again.load_case(current.id)
    assert back == current
    assert [c.review_reason for c in back.fields[0].cells[:4]] == [BOTH, "", "", REASON_DISAGREE]
    assert not any(c.pending_review for c in back.fields[0].cells)


def test_the_audit_trail_says_why_a_call_was_flagged(tmp_path: Path) -> None:
    with CaseStore.open(tmp_path / "cases.db") as store:
        s = CaseSession.new(store, CaseInfo("S-R2"), operator="AB")
        s.add_field(flagged_field(2), make_image(2))
        autos = [r.detail for r in store.audit_trail(s.case.id) if r.action == "auto"]
    assert f"flagged for review: {BOTH})" in autos[0]
    assert "flagged" not in autos[1]
    assert f"flagged for review: {REASON_DISAGREE})" in autos[3]


def _v3_database(path: Path) -> None:
    """A database as schema 3 left it: a case with one flagged and one plain cell."""
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=3) == [1, 2, 3]
    conn.execute(
        "INSERT INTO cases (id, sample_id, created_at, updated_at) VALUES "
        "('k3', 'V3-1', '2026-01-01T08:00:00+00:00', '2026-01-01T08:00:00+00:00')"
    )
    conn.execute(
        "INSERT INTO fields VALUES ('k3', 'f1', 0, 64, 48, 'cam', "
        "'2026-01-01T08:01:00+00:00', '[]')"
    )
    for cid, pos, review in (("c1", 0, 1), ("c2", 1, 0)):
        conn.execute(
            "INSERT INTO cells VALUES ('k3', 'f1', ?, ?, 1, 2, 11, 12, 'wbc', "
            "'monocyte', NULL, 0.9, 0.5, ?, 0)",
            (cid, pos, review),
        )
    conn.close()


def test_schema_4_adds_the_reason_and_old_cells_read_empty(tmp_path: Path) -> None:
    db = tmp_path / "cases.db"
    _v3_database(db)
    with CaseStore.open(db) as store:
        assert store.schema_version == SCHEMA_VERSION >= 4
        columns = [r[1] for r in store.conn.execute("PRAGMA table_info(cells)")]
        assert "review_reason" in columns
        case = store.load_case("k3")
        old, plain = case.fields[0].cells
        assert old.pending_review and old.review_reason == ""
        assert not plain.review and plain.review_reason == ""
        # Old cells can still be decided; new fields keep their reasons.
        case, _ = store.apply(case, Confirm("f1", "c1"), operator="AB")
        added = flagged_field(5)
        case, _ = store.add_field(case, added, make_image(5), operator="AB")
        store.forget("k3")
        back = store.load_case("k3")
    assert back == case
    assert back.fields[0].cells[0].final_class == "monocyte"
    assert back.fields[1].cells[0].review_reason == BOTH
    backup = tmp_path / "cases.db.v3.bak"
    conn = sqlite3.connect(backup)
    assert conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] == 3
    conn.close()
