"""Schema 6: each classified cell's classifier embedding is saved with it (float16), comes
back unchanged through corrections and their undo, and a schema-5 database reads its
cells without one."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
from store_factories import make_field, make_image

from hemoscope.core import CaseInfo, Delete, Embedding, Field, Relabel
from hemoscope.store import SCHEMA_VERSION, CaseStore, migrate

DIM = 192


def _with_embeddings(field: Field, seed: int) -> tuple[Field, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    cells, vectors = [], {}
    for cell in field.cells:
        if cell.auto_class is not None:
            v = rng.normal(0, 3, DIM).astype(np.float32)
            vectors[cell.id] = v
            cell = replace(cell, embedding=Embedding.from_vector(v))
        cells.append(cell)
    return replace(field, cells=tuple(cells)), vectors


def test_embeddings_round_trip_through_the_database(tmp_path: Path) -> None:
    field, vectors = _with_embeddings(make_field(1, n_wbc=5), seed=7)
    db = tmp_path / "cases.db"
    with CaseStore.open(db) as store:
        assert store.schema_version == SCHEMA_VERSION >= 6
        case = store.create_case(CaseInfo("E-1"), operator="AB")
        case, _ = store.add_field(case, field, make_image(1), operator="AB")
    with CaseStore.open(db) as store:
        back = store.load_case(case.id)
    cells = back.fields[0].cells
    assert sum(c.embedding is not None for c in cells) == len(vectors) == 5
    for cell in cells:
        if cell.id in vectors:
            assert cell.embedding is not None and cell.embedding.dim == DIM
            # float16: three significant digits
            assert np.allclose(cell.embedding.vector(), vectors[cell.id], rtol=1e-3, atol=1e-3)
            assert cell.embedding == next(c for c in field.cells if c.id == cell.id).embedding
        else:
            assert cell.embedding is None  # red cells carry none
    stored = sqlite3.connect(db).execute(
        "SELECT length(embedding) FROM cells WHERE embedding IS NOT NULL"
    )
    assert {n for (n,) in stored} == {2 * DIM}  # compact: 2 bytes a number


def test_corrections_and_their_undo_keep_the_embedding(tmp_path: Path) -> None:
    field, vectors = _with_embeddings(make_field(2, n_wbc=3), seed=3)
    first = next(c for c in field.cells if c.auto_class is not None)
    with CaseStore.open(tmp_path / "cases.db") as store:
        case = store.create_case(CaseInfo("E-2"), operator="AB")
        case, _ = store.add_field(case, field, make_image(2), operator="AB")
        case, _ = store.apply(case, Relabel(field.id, first.id, "basophil"), operator="AB")
        case, delete = store.apply(case, Delete(field.id, first.id), operator="AB")
        case = store.revert(case, delete, operator="AB")
        store.forget(case.id)
        back = store.load_case(case.id)
    cell = back.fields[0].get(first.id)
    assert cell is not None and cell.final_class == "basophil"
    assert cell.embedding is not None
    assert np.allclose(cell.embedding.vector(), vectors[first.id], rtol=1e-3, atol=1e-3)


def test_a_schema_5_database_loads_with_no_embeddings(tmp_path: Path) -> None:
    db = tmp_path / "cases.db"
    conn = sqlite3.connect(db, isolation_level=None)
    assert migrate(conn, target=5) == [1, 2, 3, 4, 5]
    conn.execute(
        "INSERT INTO cases (id, sample_id, created_at, updated_at) VALUES "
        "('k5', 'V5-1', '2026-01-01T08:00:00+00:00', '2026-01-01T08:00:00+00:00')"
    )
    conn.execute(
        "INSERT INTO fields VALUES ('k5', 'f1', 0, 64, 48, 'cam', "
        "'2026-01-01T08:01:00+00:00', '[]')"
    )
    conn.execute(
        "INSERT INTO cells VALUES ('k5', 'f1', 'c1', 0, 0, 2, 11, 12, 'wbc', "
        "'monocyte', NULL, 0.9, 0.5, 0, 0, '', '')"
    )
    conn.close()
    with CaseStore.open(db) as store:
        assert store.schema_version == SCHEMA_VERSION
        case = store.load_case("k5")
        cell = case.fields[0].cells[0]
        assert cell.auto_class == "monocyte" and cell.embedding is None
        # a cell captured after the migration keeps its embedding beside the old one
        field, _ = _with_embeddings(make_field(3, n_wbc=1, n_rbc=0), seed=1)
        case, _ = store.add_field(case, field, make_image(3), operator="AB")
        store.forget(case.id)
        back = store.load_case("k5")
    assert [c.embedding is not None for f in back.fields for c in f.cells] == [False, True]
