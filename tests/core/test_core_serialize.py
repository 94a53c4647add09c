import json
from datetime import date

import pytest
from core_factories import cases
from hypothesis import given, settings

from hemoscope.core import (
    REASON_DISAGREE,
    REASON_LOW_CONFIDENCE,
    SCHEMA_VERSION,
    Box,
    Case,
    CaseInfo,
    Cell,
    CellKind,
    case_from_dict,
    case_to_dict,
    join_reasons,
)
from hemoscope.core.serialize import cell_from_dict, cell_to_dict


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


def test_review_reason_is_written_and_read() -> None:
    reason = join_reasons([REASON_LOW_CONFIDENCE, REASON_DISAGREE])
    cell = Cell.create(Box(1, 2, 30, 40), CellKind.WBC, auto_class="platelet", probability=0.4,
                       review=True, review_reason=reason)  # fmt: skip
    data = json.loads(json.dumps(cell_to_dict(cell)))
    assert data["review"] is True and data["review_reason"] == reason
    assert cell_from_dict(data) == cell


def test_old_data_without_a_reason_reads_empty() -> None:
    cell = Cell.create(Box(1, 2, 30, 40), CellKind.WBC, auto_class="monocyte", review=True)
    data = cell_to_dict(cell)
    del data["review_reason"]  # as written before reasons were recorded
    back = cell_from_dict(data)
    assert back.review and back.review_reason == "" and back == cell
    quiet = cell_to_dict(Cell.create(Box(0, 0, 5, 5), CellKind.RBC))
    del quiet["review_reason"], quiet["review"]
    assert cell_from_dict(quiet).review_reason == ""
