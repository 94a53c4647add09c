"""Cases survive a round trip through the database exactly, through every kind of change."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from case_session import CaseSession
from store_factories import make_field, make_image

from hemoscope.core import (
    AddCell,
    Box,
    Case,
    CaseInfo,
    Cell,
    CellKind,
    Confirm,
    Delete,
    DeleteField,
    ManualIncrement,
    Relabel,
)
from hemoscope.store import (
    DEFAULT_DB_NAME,
    CaseNotFoundError,
    CaseStore,
    StaleCaseError,
    database_path,
)


def _reopened(path: Path, case_id: str) -> Case:
    with CaseStore.open(path) as again:
        return again.load_case(case_id)


def test_every_change_round_trips(tmp_path: Path) -> None:
    db = tmp_path / "cases.db"
    info = CaseInfo("S-100", "P-7", "Doe, Jane", date(2026, 3, 1), "AB", 7.25, "lipaemic")
    with CaseStore.open(db) as store:
        s = CaseSession.new(store, info)
        f1, f2 = make_field(1), make_field(2)
        s.add_field(f1, make_image(1))
        s.add_field(f2, make_image(2))
        s.do(Relabel(f1.id, f1.cells[0].id, "band"))
        s.do(Confirm(f1.id, f1.cells[3].id))
        s.do(Delete(f1.id, f1.cells[1].id))
        s.do(
            AddCell(
                f2.id, Cell("m1", Box(1.5, 2.5, 30.25, 40.0), CellKind.WBC, final_class="blast")
            )
        )
        s.do(ManualIncrement("basophil", 2))
        s.do(Relabel(f2.id, f2.cells[5].id, "lymphocyte"))  # a red cell becomes a WBC
        s.update_info(replace(info, comments="lipaemic; repeat", wbc_count=None))
        current = s.case
        assert store.load_case(current.id) == current
    back = _reopened(db, current.id)
    assert back == current
    assert back.fields[0].cells[0].final_class == "band"
    assert back.fields[1].cells[-1].manual and back.manual.get_count("basophil") == 2
    assert back.info.wbc_count is None and back.info.specimen_date == date(2026, 3, 1)
    assert back.fields[1].cells[5].kind is CellKind.WBC


def test_undo_redo_restore_order_and_state(tmp_path: Path) -> None:
    db = tmp_path / "cases.db"
    with CaseStore.open(db) as store:
        s = CaseSession.new(store, CaseInfo("S-2", operator="CD"))
        f1, f2, f3 = make_field(1), make_field(2), make_field(3)
        for f in (f1, f2, f3):
            s.add_field(f, make_image(int(f.id[1:])))
        start = s.case
        s.do(Delete(f1.id, f1.cells[2].id))
        s.do(DeleteField(f2.id))
        s.do(Relabel(f3.id, f3.cells[0].id, "monocyte"))
        end = s.case
        for _ in range(3):
            s.undo()
        assert s.case == start and store.load_case(start.id) == start
        for _ in range(3):
            s.redo()
        assert s.case == end
        s.undo()  # leave it part-way: the field deleted, the relabel undone
        expected = s.case
    assert _reopened(db, expected.id) == expected
    assert [f.id for f in expected.fields] == [f1.id, f3.id]


def test_deleted_field_keeps_its_image_for_undo(store: CaseStore) -> None:
    s = CaseSession.new(store, CaseInfo("S-3"), operator="AB")
    field = make_field(5)
    image = make_image(5)
    s.add_field(field, image)
    s.do(DeleteField(field.id))
    assert s.case.fields == ()
    s.undo()
    assert s.case.fields == (field,)
    assert np.array_equal(store.field_image(s.case.id, field.id), image)


def test_same_image_is_stored_once(store: CaseStore) -> None:
    s = CaseSession.new(store, CaseInfo("S-4"), operator="AB")
    image = make_image(9)
    s.add_field(make_field(1), image)
    s.add_field(make_field(2), image.copy())
    shas = {store.field_image_sha(s.case.id, f.id) for f in s.case.fields}
    assert len(shas) == 1
    files = [p for p in store.images.root.rglob("*.png")]
    assert len(files) == 1
    assert store.conn.execute("SELECT count(*) FROM images").fetchone()[0] == 1


def test_image_must_match_the_field(store: CaseStore) -> None:
    s = CaseSession.new(store, CaseInfo("S-5"), operator="AB")
    with pytest.raises(ValueError, match="96x64"):
        s.add_field(make_field(1), make_image(1, width=50, height=50))
    assert s.case.fields == () and not s.can_undo


def test_stale_case_refused(tmp_path: Path) -> None:
    db = tmp_path / "cases.db"
    with CaseStore.open(db) as a, CaseStore.open(db) as b:
        case = a.create_case(CaseInfo("S-6"), operator="AB")
        field = make_field(1)
        in_b = b.load_case(case.id)
        a.add_field(case, field, make_image(1), operator="AB")
        with pytest.raises(StaleCaseError, match="changed elsewhere"):
            b.apply(in_b, ManualIncrement("neutrophil"), operator="CD")
        with pytest.raises(StaleCaseError, match="not the version"):
            a.apply(case, ManualIncrement("neutrophil"), operator="AB")  # an old version
        assert b.load_case(case.id).fields == (field,)


def test_unknown_case(store: CaseStore) -> None:
    with pytest.raises(CaseNotFoundError, match="no case 'nope'"):
        store.load_case("nope")


def test_closed_session_must_be_reopened(store: CaseStore) -> None:
    s = CaseSession.new(store, CaseInfo("S-7"), operator="AB")
    s.do(ManualIncrement("lymphocyte"))
    s.close()
    assert not s.can_undo
    with pytest.raises(StaleCaseError):
        s.do(ManualIncrement("lymphocyte"))
    again = CaseSession.open(store, s.case.id, operator="AB")
    assert again.do(ManualIncrement("lymphocyte")).manual.get_count("lymphocyte") == 2


def test_redone_field_keeps_its_image(store: CaseStore) -> None:
    s = CaseSession.new(store, CaseInfo("S-8"), operator="AB")
    field, image = make_field(3), make_image(3)
    s.add_field(field, image)
    s.undo()
    assert store.load_case(s.case.id).fields == ()
    s.redo()
    assert store.load_case(s.case.id).fields == (field,)
    assert np.array_equal(store.field_image(s.case.id, field.id), image)
    actions = [r.action for r in store.audit_trail(s.case.id)]
    assert actions[-2:] == ["undo:add-field", "redo:add-field"]


def test_database_path_in_a_user_data_folder(tmp_path: Path) -> None:
    path = database_path(tmp_path / "HemoScope")
    assert path == tmp_path / "HemoScope" / DEFAULT_DB_NAME
    with CaseStore.open(path) as store:  # the folder is created (owner-only)
        assert store.images.root == tmp_path / "HemoScope" / "hemoscope-cases-images"
