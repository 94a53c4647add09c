"""The report counts the cells flagged for review by reason (PDF, summary CSV, JSON), and
the per-cell exports and the sign-off list carry each cell's reason."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

from report_factories import case_with
from report_pdf_text import pdf_pages

from hemoscope.core import (
    REASON_DISAGREE,
    REASON_LOW_CONFIDENCE,
    REASON_UNFAMILIAR,
    Case,
    Relabel,
    join_reasons,
)
from hemoscope.report import (
    cells_csv,
    export_dict,
    pending_flags,
    pending_review_cells,
    report_content,
    summary_csv,
    write_pdf,
)
from hemoscope.report.tables import CELL_COLUMNS, FLAGGED_ID

BOTH = join_reasons([REASON_LOW_CONFIDENCE, REASON_UNFAMILIAR])
REASONS = {"w0": REASON_LOW_CONFIDENCE, "w1": BOTH, "w2": REASON_DISAGREE, "w3": ""}
LINE = (
    "Flagged for review: 4 (low confidence 2, unfamiliar 1, detector and classifier "
    "disagree 1, reason not recorded 1)"
)


def flagged_case() -> Case:
    """Ten white cells; w0-w3 flagged (w3 without a recorded reason, as old data)."""
    case = case_with({"neutrophil": 6, "monocyte": 4}, review=4)
    fld = case.fields[0]
    cells = tuple(
        replace(c, review_reason=REASONS[c.id]) if c.id in REASONS else c for c in fld.cells
    )
    return case.with_field(0, replace(fld, cells=cells))


def decided(case: Case) -> Case:
    """w1 relabelled by the technician: still flagged (why), no longer pending."""
    return Relabel(case.fields[0].id, "w1", "blast").apply(case)


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_pdf_counts_flagged_cells_by_reason(tmp_path: Path) -> None:
    text = " ".join(pdf_pages(write_pdf(decided(flagged_case()), tmp_path / "r.pdf"))[0])
    assert LINE in text
    # Three still await a decision, and the warning says why.
    assert (
        "PRELIMINARY: 3 cell(s) flagged for review are not confirmed yet (low confidence 1, "
        "detector and classifier disagree 1, reason not recorded 1)" in text
    )


def test_per_cell_csv_adds_the_flag_and_reason_at_the_end() -> None:
    assert CELL_COLUMNS[-3:-1] == ("review_flagged", "review_reason")  # then not_counted
    assert CELL_COLUMNS[:3] == ("case_id", "sample_id", "field_id")
    assert CELL_COLUMNS[-5:-3] == ("corrected_by", "corrected_at")  # nothing moved
    rows = {r["cell_id"]: r for r in _csv_rows(cells_csv(report_content(decided(flagged_case()))))}
    assert rows["w0"]["review_reason"] == REASON_LOW_CONFIDENCE
    assert (rows["w1"]["review_flagged"], rows["w1"]["review_pending"]) == ("true", "false")
    assert rows["w1"]["review_reason"] == "low confidence; unfamiliar"
    assert rows["w3"]["review_flagged"] == "true" and rows["w3"]["review_reason"] == ""
    assert rows["w5"]["review_flagged"] == "false" and rows["w5"]["review_reason"] == ""


def test_summary_csv_counts_flags_by_reason() -> None:
    rows = {r["class_id"]: r for r in _csv_rows(summary_csv(report_content(flagged_case())))}
    assert rows["wbc_total"]["count"] == "10"  # the class rows are as before
    assert rows[FLAGGED_ID]["count"] == "4"
    assert rows[FLAGGED_ID]["class_name"] == "Flagged for review"
    assert rows[f"{FLAGGED_ID}:{REASON_LOW_CONFIDENCE}"]["count"] == "2"
    assert rows[f"{FLAGGED_ID}:{REASON_UNFAMILIAR}"]["class_name"] == (
        "Flagged for review: Unfamiliar cell"
    )
    assert rows[f"{FLAGGED_ID}:{REASON_DISAGREE}"]["count"] == "1"
    assert rows[f"{FLAGGED_ID}:reason not recorded"]["count"] == "1"
    quiet = _csv_rows(summary_csv(report_content(case_with({"neutrophil": 3}))))
    assert [r["count"] for r in quiet if r["class_id"].startswith(FLAGGED_ID)] == ["0"]


def test_json_summary_cells_and_case_carry_reasons() -> None:
    data = json.loads(json.dumps(export_dict(report_content(decided(flagged_case())))))
    assert data["summary"]["flagged_for_review"] == {
        "total": 4,
        "by_reason": {
            REASON_LOW_CONFIDENCE: 2,
            REASON_UNFAMILIAR: 1,
            REASON_DISAGREE: 1,
            "reason not recorded": 1,
        },
    }
    assert data["summary"]["pending_review"] == 3
    cells = {c["cell_id"]: c for c in data["cells"]}
    assert cells["w1"]["review_reason"] == BOTH and cells["w1"]["review_flagged"] is True
    case_cells = {c["id"]: c for c in data["case"]["fields"][0]["cells"]}
    assert case_cells["w2"]["review_reason"] == REASON_DISAGREE


def test_pending_cells_say_why() -> None:
    case = decided(flagged_case())
    pending = pending_review_cells(case)
    assert [(p.cell_id, p.review_reason) for p in pending] == [
        ("w0", REASON_LOW_CONFIDENCE),
        ("w2", REASON_DISAGREE),
        ("w3", ""),
    ]
    assert pending_flags(case).breakdown() == (
        "low confidence 1, detector and classifier disagree 1, reason not recorded 1"
    )
    content = report_content(case)
    assert content.flags.line() == LINE and content.pending_flags == pending_flags(case)
