"""Schema 5: the "already counted" and "cut by the edge" marks are saved with each cell,
leave the sign-off gate alone, and a schema-4 database reads its cells as counted."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from store_factories import make_field, make_image

from hemoscope.core import CaseInfo, Tally
from hemoscope.core.overlap import UNCOUNTED_EDGE, UNCOUNTED_REPEAT
from hemoscope.core.serialize import cell_from_dict, cell_to_dict
from hemoscope.store import SCHEMA_VERSION, CaseStore, migrate


def test_marks_round_trip_and_stay_out_of_the_tally_and_the_gate(tmp_path: Path) -> None:
    field = make_field(1, n_wbc=4, review_every=1)  # every white cell flagged
    wbc = [i for i, c in enumerate(field.cells) if c.auto_class is not None]
    cells = list(field.cells)
    cells[wbc[0]] = replace(cells[wbc[0]], uncounted=UNCOUNTED_REPEAT)
    cells[wbc[1]] = replace(cells[wbc[1]], uncounted=UNCOUNTED_EDGE)
    field = replace(field, cells=tuple(cells))
    with CaseStore.open(tmp_path / "cases.db") as store:
        assert store.schema_version == SCHEMA_VERSION >= 5
        case = store.create_case(CaseInfo("U-1"), operator="AB")
        case, _ = store.add_field(case, field, make_image(1), operator="AB")
        store.forget(case.id)
        back = store.load_case(case.id)
        trail = store.audit_trail(case.id)
    assert back == case
    marks = [c.uncounted for c in back.fields[0].cells if c.auto_class is not None]
    assert marks[:2] == [UNCOUNTED_REPEAT, UNCOUNTED_EDGE]
    assert Tally.from_case(back).denominator == len(wbc) - 2
    assert sum(c.pending_review for c in back.fields[0].cells) == len(wbc) - 2
    added = next(r for r in trail if r.action == "add-field")
    assert "not counted: 1 already counted, 1 cut by the edge" in added.detail
    for cell in back.fields[0].cells:
        assert cell_from_dict(cell_to_dict(cell)) == cell


def test_a_schema_4_database_reads_every_cell_as_counted(tmp_path: Path) -> None:
    db = tmp_path / "cases.db"
    conn = sqlite3.connect(db, isolation_level=None)
    assert migrate(conn, target=4) == [1, 2, 3, 4]
    conn.execute(
        "INSERT INTO cases (id, sample_id, created_at, updated_at) VALUES "
        "('k4', 'V4-1', '2026-01-01T08:00:00+00:00', '2026-01-01T08:00:00+00:00')"
    )
    conn.execute(
        "INSERT INTO fields VALUES ('k4', 'f1', 0, 64, 48, 'cam', "
        "'2026-01-01T08:01:00+00:00', '[]')"
    )
    conn.execute(
        "INSERT INTO cells VALUES ('k4', 'f1', 'c1', 0, 0, 2, 11, 12, 'wbc', "
        "'monocyte', NULL, 0.9, 0.5, 0, 0, '')"
    )
    conn.close()
    with CaseStore.open(db) as store:
        assert store.schema_version == SCHEMA_VERSION
        case = store.load_case("k4")
    assert case.fields[0].cells[0].uncounted == ""
    assert Tally.from_case(case).denominator == 1
