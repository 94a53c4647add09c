"""The audit trail: every automatic call and every correction, with operator and time."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from case_session import CaseSession
from store_factories import make_field, make_image

from hemoscope.core import (
    AddCell,
    Box,
    CaseInfo,
    Cell,
    CellKind,
    Confirm,
    Delete,
    DeleteField,
    ManualIncrement,
    Relabel,
)
from hemoscope.store import CaseLockedError, CaseStore, SignOffError


def _rows(store: CaseStore, case_id: str) -> list[tuple[object, ...]]:
    return [
        (r.action, r.field_id, r.cell_id, r.old_class, r.new_class, r.operator)
        for r in store.audit_trail(case_id)
    ]


def test_every_correction_type_is_audited(store: CaseStore) -> None:
    start = datetime.now(UTC)
    s = CaseSession.new(store, CaseInfo("S-1", operator="AB"))
    f, g = make_field(1, n_wbc=4, n_rbc=3), make_field(2, n_wbc=2, n_rbc=0)
    s.add_field(f, make_image(1))
    s.operator = "CD"  # a second technician takes over
    s.add_field(g, make_image(2))
    w0, w1, _w2, w3 = (c.id for c in f.cells[:4])
    s.do(Relabel(f.id, w0, "band"))
    s.do(Confirm(f.id, w3))
    s.do(Delete(f.id, w1))
    s.do(AddCell(f.id, Cell("added", Box(0, 0, 9, 9), CellKind.WBC, final_class="blast")))
    s.do(ManualIncrement("basophil"))
    s.do(DeleteField(g.id))
    s.undo()
    s.redo()
    s.update_info(replace(s.case.info, wbc_count=5.5))
    rows = _rows(store, s.case.id)
    assert rows[0] == ("create", None, None, None, None, "AB")
    assert rows[1] == ("add-field", f.id, None, None, None, "AB")
    # one automatic call per classified cell; red cells are summed in add-field
    assert rows[2:6] == [("auto", f.id, c.id, None, c.auto_class, "AB") for c in f.cells[:4]]
    assert rows[6][0] == "add-field" and rows[6][5] == "CD"
    assert [r[0] for r in rows[7:9]] == ["auto", "auto"]
    assert rows[9:] == [
        ("relabel", f.id, w0, "neutrophil", "band", "CD"),
        ("confirm", f.id, w3, "eosinophil", "eosinophil", "CD"),
        ("delete", f.id, w1, "lymphocyte", None, "CD"),
        ("add-cell", f.id, "added", None, "blast", "CD"),
        ("manual-count", None, None, None, "basophil", "CD"),
        ("delete-field", g.id, None, None, None, "CD"),
        ("undo:delete-field", g.id, None, None, None, "CD"),
        ("redo:delete-field", g.id, None, None, None, "CD"),
        ("edit-info", None, None, None, None, "CD"),
    ]
    trail = store.audit_trail(s.case.id)
    assert "4 WBC, 3 RBC, 0 platelets" in trail[1].detail
    assert "flagged for review" in trail[2].detail and "p 0.60" in trail[2].detail
    assert "wbc_count: None → 5.5" in trail[-1].detail
    assert all(start - timedelta(seconds=1) <= r.at <= datetime.now(UTC) for r in trail)
    assert [r.seq for r in trail] == sorted(r.seq for r in trail)


def test_undo_of_a_relabel_swaps_the_classes(store: CaseStore) -> None:
    s = CaseSession.new(store, CaseInfo("S-2"), operator="AB")
    f = make_field(1)
    s.add_field(f, make_image(1))
    s.do(Relabel(f.id, f.cells[1].id, "basophil"))
    s.undo()
    last = store.audit_trail(s.case.id)[-1]
    assert (last.action, last.old_class, last.new_class) == (
        "undo:relabel",
        "basophil",
        "lymphocyte",
    )


def test_audit_trail_is_append_only(store: CaseStore) -> None:
    case = store.create_case(CaseInfo("S-3"), operator="AB")
    for sql in ("UPDATE audit SET operator = 'X'", "DELETE FROM audit"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store.conn.execute(sql)
    assert len(store.audit_trail(case.id)) == 1


def test_failed_action_writes_no_audit(store: CaseStore) -> None:
    s = CaseSession.new(store, CaseInfo("S-4"), operator="AB")
    before = store.audit_trail(s.case.id)
    with pytest.raises(ValueError):
        s.do(ManualIncrement("neutrophil", -1))  # counts never go below zero
    assert store.audit_trail(s.case.id) == before and not s.can_undo


def test_sign_off_locks_the_case_until_reopened(store: CaseStore) -> None:
    s = CaseSession.new(store, CaseInfo("S-5"), operator="AB")
    f = make_field(1, n_wbc=4, review_every=3)  # cells 0 and 3 are flagged
    s.add_field(f, make_image(1))
    with pytest.raises(SignOffError, match="2 cell") as info:
        s.sign_off(performed_by="AB", reviewed_by="CD")
    assert info.value.cells == [(f.id, f.cells[0].id), (f.id, f.cells[3].id)]
    s.do(Confirm(f.id, f.cells[0].id))
    s.do(Relabel(f.id, f.cells[3].id, "monocyte"))
    record = s.sign_off(performed_by="AB", reviewed_by="CD")
    assert store.sign_off_of(s.case.id) == record and not s.can_undo
    assert store.list_cases("S-5")[0].sign_off == record
    with pytest.raises(CaseLockedError, match="signed off by CD"):
        s.do(ManualIncrement("neutrophil"))
    store.reopen(s.case, operator="CD", reason="late analyser count")
    s.update_info(replace(s.case.info, wbc_count=9.0))
    actions = [r.action for r in store.audit_trail(s.case.id)]
    assert actions[-3:] == ["sign-off", "reopen", "edit-info"]
    assert "late analyser count" in store.audit_trail(s.case.id)[-2].detail
    assert store.sign_off_of(s.case.id) is None
