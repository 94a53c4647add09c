"""The case list: search by sample or patient id and by date."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hemoscope.core import CaseInfo
from hemoscope.store import CaseStore


def _fill(store: CaseStore) -> None:
    store.create_case(CaseInfo("H-2026-0001", "PAT-17", "Doe", date(2026, 1, 10)), operator="A")
    store.create_case(CaseInfo("H-2026-0002", "PAT-18", "Roe", date(2026, 2, 20)), operator="A")
    store.create_case(CaseInfo("X_9%", "pat-170"), operator="B")  # no specimen date


def test_search_by_sample_or_patient_id(store: CaseStore) -> None:
    _fill(store)
    assert {c.sample_id for c in store.list_cases("2026-000")} == {"H-2026-0001", "H-2026-0002"}
    assert {c.sample_id for c in store.list_cases("pat-17")} == {"H-2026-0001", "X_9%"}
    assert [c.sample_id for c in store.list_cases("PAT-18")] == ["H-2026-0002"]
    assert len(store.list_cases("")) == 3 and store.list_cases("nobody") == []


def test_like_wildcards_are_literal(store: CaseStore) -> None:
    _fill(store)
    assert [c.sample_id for c in store.list_cases("_9%")] == ["X_9%"]
    assert store.list_cases("H%0001") == [] and store.list_cases("H_2026") == []


def test_date_range_uses_specimen_date_else_creation_day(store: CaseStore) -> None:
    _fill(store)
    feb = store.list_cases(date_from=date(2026, 2, 1), date_to=date(2026, 2, 28))
    assert [c.sample_id for c in feb] == ["H-2026-0002"]
    today = datetime.now(UTC).date()
    assert [c.sample_id for c in store.list_cases(date_from=today)] == ["X_9%"]
    jan = store.list_cases("PAT", date_to=date(2026, 1, 31))
    assert [c.sample_id for c in jan] == ["H-2026-0001"]


def test_summaries_newest_first_with_field_count(store: CaseStore) -> None:
    _fill(store)
    rows = store.list_cases()
    assert [c.sample_id for c in rows] == ["X_9%", "H-2026-0002", "H-2026-0001"]
    assert rows[1].patient_name == "Roe" and rows[1].specimen_date == date(2026, 2, 20)
    assert all(r.n_fields == 0 and not r.signed_off for r in rows)
    assert len(store.list_cases(limit=2)) == 2
