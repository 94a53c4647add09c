import json
from datetime import date

import pytest
from core_factories import cases
from hypothesis import given, settings

from hemoscope.core import SCHEMA_VERSION, Case, CaseInfo, CellKind, case_from_dict, case_to_dict


@settings(max_examples=40, deadline=None)
@given(cases())
def test_round_trip_through_json(case: Case) -> None:
    data = json.loads(json.dumps(case_to_dict(case)))
    assert case_from_dict(data) == case


def test_layout_and_info() -> None:
    info = CaseInfo("S-9", "P-1", "Doe, J", date(2026, 2, 1), "AB", 6.5, "note")
    data = case_to_dict(Case(info, (), {"band": 3}, id="k"))
    assert data["schema"] == SCHEMA_VERSION and data["manual_counts"] == {"band": 3}
    assert data["info"]["specimen_date"] == "2026-02-01"
    back = case_from_dict(data)
    assert back.info == info and back.id == "k"
    assert CellKind.resolve("Platelets") is CellKind.PLATELET
    assert CellKind.resolve("WBC") is CellKind.WBC and CellKind.resolve("x") is None


def test_newer_schema_refused() -> None:
    data = case_to_dict(Case(CaseInfo("S"), id="k"))
    data["schema"] = SCHEMA_VERSION + 1
    with pytest.raises(ValueError, match="schema"):
        case_from_dict(data)
