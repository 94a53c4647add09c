"""A damaged case database at start: move it aside for a new one, go on unsaved, or quit."""

from __future__ import annotations

from pathlib import Path

import pytest

from hemoscope.store import StoreCorruptError
from hemoscope.ui.app import open_case_store
from hemoscope.ui.case.case_backend import StoreBackend
from hemoscope.ui.case.memory_backend import MemoryBackend
from hemoscope.ui.case.store_recovery import Choice, recover

DAMAGED = b"SQLite format 3\x00" + b"\xff" * 4000


def damaged_db(tmp_path: Path) -> Path:
    db = tmp_path / "cases.db"
    db.write_bytes(DAMAGED)
    return db


@pytest.mark.parametrize("choice", ["new", "memory", "quit"])
def test_each_way_out_keeps_the_damaged_file(tmp_path: Path, choice: Choice) -> None:
    db = damaged_db(tmp_path)
    asked: list[StoreCorruptError] = []

    def choose(error: StoreCorruptError) -> Choice:
        asked.append(error)
        return choice

    opened = open_case_store(db, on_damaged=lambda e: recover(e, choose))
    assert len(asked) == 1 and asked[0].path == db
    kept = [p for p in tmp_path.iterdir() if ".damaged-" in p.name]
    if choice == "quit":
        assert opened is None
        assert db.read_bytes() == DAMAGED and not kept
        return
    assert opened is not None
    backend, problem = opened
    try:
        if choice == "new":
            assert isinstance(backend, StoreBackend) and problem == ""
            assert [p.read_bytes() for p in kept] == [DAMAGED]  # moved aside, intact
            assert backend.list_cases() == []
        else:
            assert isinstance(backend, MemoryBackend)
            assert "damaged" in problem
            assert db.read_bytes() == DAMAGED and not kept
    finally:
        backend.close()
