"""Sign-off is refused while cells flagged for review are unconfirmed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from report_factories import case_with

from hemoscope.core import Confirm, UndoHistory
from hemoscope.report import (
    PendingReviewError,
    confirm_pending,
    pending_review_cells,
    sign_off,
)


def test_pending_cells_listed_in_case_order() -> None:
    case = case_with({"neutrophil": 15, "monocyte": 5}, review=12)
    pending = pending_review_cells(case)
    assert [p.cell_id for p in pending] == [f"w{i}" for i in range(12)]
    assert [p.field_index for p in pending] == [0] * 10 + [1] * 2
    assert pending[0].auto_class == "neutrophil" and pending[0].probability == 0.8


def test_sign_off_refused_then_allowed_after_confirming() -> None:
    case = case_with({"lymphocyte": 8}, review=3)
    with pytest.raises(PendingReviewError, match="3 cell") as info:
        sign_off(case, performed_by="AB", reviewed_by="CD")
    assert len(info.value.cells) == 3
    history = UndoHistory(case)
    commands = confirm_pending(case)
    assert all(isinstance(c, Confirm) for c in commands) and len(commands) == 3
    for command in commands:
        history.do(command)
    assert pending_review_cells(history.case) == ()
    when = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    record = sign_off(history.case, performed_by=" AB ", reviewed_by="CD", at=when)
    assert (record.performed_by, record.reviewed_by, record.at) == ("AB", "CD", when)


def test_cell_without_automatic_class_stays_pending() -> None:
    case = case_with({"lymphocyte": 2}, review=2)
    fld = case.fields[0]
    unclassified = replace(fld.cells[0], auto_class=None, probability=None)
    case = case.with_field(0, fld.with_cell(0, unclassified))
    commands = confirm_pending(case)
    assert [c.cell_id for c in commands] == ["w1"]
    history = UndoHistory(case)
    history.do(commands[0])
    with pytest.raises(PendingReviewError) as info:
        sign_off(history.case, performed_by="AB", reviewed_by="CD")
    assert [p.cell_id for p in info.value.cells] == ["w0"]


def test_reviewer_required() -> None:
    with pytest.raises(ValueError, match="reviewer"):
        sign_off(case_with({"lymphocyte": 2}), performed_by="AB", reviewed_by=" ")
