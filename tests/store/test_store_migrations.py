"""Schema versions: an old database is migrated (with a backup), a newer one refused,
a damaged one stopped at the door with a way out."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from store_factories import make_field, make_image

from hemoscope.core import CaseInfo, Confirm, ModelStamp
from hemoscope.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    CaseStore,
    StoreCorruptError,
    StoreOpenError,
    StoreVersionError,
    migrate,
    quarantine,
)
from hemoscope.store import schema as schema_module


def _v1_database(path: Path) -> None:
    """A database as HemoScope with schema 1 left it: one case with a field and a cell."""
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=1) == [1]
    conn.execute(
        "INSERT INTO cases (id, sample_id, patient_id, operator, wbc_count, "
        "created_at, updated_at) VALUES ('k1', 'OLD-1', 'P-9', 'AB', 6.0, "
        "'2025-12-01T08:00:00+00:00', '2025-12-01T08:00:00+00:00')"
    )
    conn.execute(
        "INSERT INTO fields VALUES ('k1', 'f1', 0, 64, 48, 'cam', '2025-12-01T08:01:00+00:00')"
    )
    conn.execute(
        "INSERT INTO cells VALUES ('k1', 'f1', 'c1', 0, 1, 2, 11, 12, 'wbc', "
        "'monocyte', NULL, 0.9, 0.55, 1, 0)"
    )
    conn.execute(
        "INSERT INTO audit (case_id, at, operator, action, detail) VALUES "
        "('k1', '2025-12-01T08:00:00+00:00', 'AB', 'create', 'Create case OLD-1')"
    )
    conn.close()


def test_schema_version_is_the_number_of_migrations() -> None:
    assert SCHEMA_VERSION == len(MIGRATIONS) >= 2


def test_old_database_is_migrated_with_a_backup(tmp_path: Path) -> None:
    db = tmp_path / "cases.db"
    _v1_database(db)
    with CaseStore.open(db) as store:
        assert store.schema_version == SCHEMA_VERSION
        case = store.load_case("k1")
        assert case.info.sample_id == "OLD-1" and case.info.wbc_count == 6.0
        cell = case.fields[0].cells[0]
        assert cell.auto_class == "monocyte" and cell.pending_review
        assert [s.sample_id for s in store.list_cases("old")] == ["OLD-1"]
        assert [r.action for r in store.audit_trail("k1")] == ["create"]
        # Version 3: fields saved before it name no models; new ones keep theirs.
        assert case.fields[0].models == ()
        stamp = ModelStamp("detector", "2026.11.22", "ab" * 32)
        added = replace(make_field(7), models=(stamp,))
        case, _ = store.add_field(case, added, make_image(7), operator="AB")
        store.forget("k1")
        case = store.load_case("k1")
        assert [f.models for f in case.fields] == [(), (stamp,)]
        # The version-2 sign-off columns work on the migrated data.
        pending = [(f.id, c.id) for f in case.fields for c in f.cells if c.pending_review]
        for field_id, cell_id in pending:
            case, _ = store.apply(case, Confirm(field_id, cell_id), operator="AB")
        store.record_sign_off(case, performed_by="AB", reviewed_by="CD")
        assert store.sign_off_of("k1") is not None
        versions = [r[0] for r in store.conn.execute("SELECT version FROM schema_version")]
        assert versions == list(range(1, SCHEMA_VERSION + 1))
    backup = tmp_path / "cases.db.v1.bak"
    conn = sqlite3.connect(backup)
    assert conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] == 1
    assert conn.execute("SELECT sample_id FROM cases").fetchall() == [("OLD-1",)]
    conn.close()


def test_failed_migration_leaves_the_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "cases.db"
    _v1_database(db)
    broken = (MIGRATIONS[0], (*MIGRATIONS[1][:2], "ALTER TABLE no_such_table ADD x TEXT"))
    monkeypatch.setattr(schema_module, "MIGRATIONS", broken)
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        CaseStore.open(db)
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] == 1
    columns = [r[1] for r in conn.execute("PRAGMA table_info(cases)")]
    assert "performed_by" not in columns  # the first statements were rolled back too
    conn.close()


def test_newer_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "cases.db"
    CaseStore.open(db).close()
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO schema_version VALUES (?, 'later')", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(StoreVersionError, match=f"schema version {SCHEMA_VERSION + 1}"):
        CaseStore.open(db)


def test_not_a_database(tmp_path: Path) -> None:
    db = tmp_path / "cases.db"
    db.write_bytes(b"this is a text file, not SQLite\n" * 200)
    with pytest.raises(StoreCorruptError, match="is damaged") as info:
        CaseStore.open(db)
    assert "new, empty database" in str(info.value) and info.value.path == db


def test_damaged_pages_are_caught_and_quarantine_is_the_way_out(tmp_path: Path) -> None:
    db = tmp_path / "cases.db"
    with CaseStore.open(db) as store:
        case = store.create_case(CaseInfo("S-1"), operator="AB")
        for i in range(30):
            case, _ = store.add_field(case, make_field(i, n_rbc=40), make_image(i), operator="AB")
    raw = bytearray(db.read_bytes())
    page = 4096
    assert len(raw) > 8 * page
    for p in range(2, len(raw) // page):  # scribble over the b-tree pages, keep page 1
        raw[p * page + 8 : p * page + 200] = b"\xa5" * 192
    db.write_bytes(bytes(raw))
    with pytest.raises(StoreCorruptError) as info:
        CaseStore.open(db)
    assert info.value.problems
    kept = quarantine(db)
    assert kept.exists() and not db.exists() and kept.read_bytes() == bytes(raw)
    with CaseStore.open(db) as fresh:
        assert fresh.list_cases() == [] and fresh.integrity_check() == []
        # Images are content-addressed and outlive the damaged database.
        assert fresh.images.has(fresh.images.put(make_image(0)).sha256)


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.close()
    with pytest.raises(StoreCorruptError, match="no schema_version table"):
        CaseStore.open(db)


def test_unopenable_path_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "cases.db"
    folder.mkdir()  # a folder where the database should be
    with pytest.raises(StoreOpenError, match="cannot be opened") as info:
        CaseStore.open(folder)
    assert info.value.path == folder and "writable" in str(info.value)
