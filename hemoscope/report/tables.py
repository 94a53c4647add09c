"""Per-cell and summary rows of a case, as plain values (for CSV and JSON exports)."""

from __future__ import annotations

from typing import Any

from hemoscope.core import Case, Taxonomy, effective_kind, reason_label, reported_class

from .content import ReportContent
from .decisions import Decisions

__all__ = ["CELL_COLUMNS", "FLAGGED_ID", "SUMMARY_COLUMNS", "cell_rows", "summary_rows"]

FLAGGED_ID = "review_flagged"
"""``class_id`` of the summary rows that count the cells flagged for review."""

CELL_COLUMNS = (
    "case_id", "sample_id", "field_id", "field_index", "field_source", "cell_id",
    "x1", "y1", "x2", "y2", "kind", "detector_score", "auto_class", "probability",
    "final_class", "effective_class", "review_pending", "manual", "corrected",
    "corrected_by", "corrected_at", "review_flagged", "review_reason", "not_counted",
)  # fmt: skip
SUMMARY_COLUMNS = (
    "sample_id", "class_id", "class_name", "in_differential", "count", "percent",
    "ci_low_percent", "ci_high_percent", "reference_low", "reference_high", "flag",
    "per_100_wbc", "absolute_1e9_per_l", "absolute_flag",
)  # fmt: skip


def cell_rows(
    case: Case, taxonomy: Taxonomy, decisions: Decisions | None = None
) -> list[dict[str, Any]]:
    """One row per cell of every field, in capture and detection order.

    ``kind`` is the effective kind (a red-cell detection relabelled as a lymphocyte is a
    WBC). ``review_flagged``/``review_reason``: whether and why the machine flagged the
    cell (kept after a human decision; ``review_pending`` says whether one is awaited).
    ``corrected_by``/``corrected_at`` come from ``decisions`` (see
    :func:`standing_decisions`) and are empty without one. ``not_counted``: why a cell
    is out of the tally ("already counted" in an earlier, overlapping field, or "cut by
    the edge"), empty for a cell that counts.
    """
    rows: list[dict[str, Any]] = []
    for index, fld in enumerate(case.fields):
        for cell in fld.cells:
            d = None if decisions is None else decisions.get((fld.id, cell.id))
            rows.append({
                "case_id": case.id, "sample_id": case.info.sample_id, "field_id": fld.id,
                "field_index": index, "field_source": fld.source, "cell_id": cell.id,
                "x1": cell.box.x1, "y1": cell.box.y1, "x2": cell.box.x2, "y2": cell.box.y2,
                "kind": effective_kind(cell, taxonomy).value, "detector_score": cell.score,
                "auto_class": cell.auto_class, "probability": cell.probability,
                "final_class": cell.final_class,
                "effective_class": reported_class(cell, taxonomy),
                "review_pending": cell.pending_review, "manual": cell.manual,
                "corrected": cell.corrected,
                "corrected_by": None if d is None else d.operator,
                "corrected_at": None if d is None else d.at.isoformat(),
                "review_flagged": cell.review, "review_reason": cell.review_reason,
                "not_counted": cell.uncounted,
            })  # fmt: skip
    return rows


def summary_rows(content: ReportContent) -> list[dict[str, Any]]:
    """One row per class of the tally, a ``<class>_total`` row per group total (e.g.
    ``ig_total``: IG of every stage, see `Tally.subtotals`), then a ``wbc_total`` row (the
    denominator), a ``review_flagged`` row (cells flagged for review) and a
    ``review_flagged:<reason>`` row per reason that occurs (a cell with two reasons counts
    under both)."""
    t = content.tally
    reference = content.settings.reference
    rows: list[dict[str, Any]] = []
    for r in t.rows:
        rng = reference.get(r.class_id) if r.in_differential else None
        ci = r.ci_percent
        rows.append({
            "sample_id": content.case.info.sample_id, "class_id": r.class_id,
            "class_name": r.display_name, "in_differential": r.in_differential,
            "count": r.count, "percent": r.percent_rounded,
            "ci_low_percent": None if ci is None else round(ci[0], 1),
            "ci_high_percent": None if ci is None else round(ci[1], 1),
            "reference_low": None if rng is None else rng.low,
            "reference_high": None if rng is None else rng.high,
            "flag": r.flag,
            "per_100_wbc": None if r.per_100_wbc is None else round(r.per_100_wbc, 1),
            "absolute_1e9_per_l": None if r.absolute is None else round(r.absolute, 3),
            "absolute_flag": r.abs_flag,
        })  # fmt: skip
    for r in t.subtotals:
        rng = reference.get(r.class_id)
        ci = r.ci_percent
        rows.append({
            "sample_id": content.case.info.sample_id, "class_id": f"{r.class_id}_total",
            "class_name": r.display_name, "in_differential": True,
            "count": r.count, "percent": r.percent_rounded,
            "ci_low_percent": None if ci is None else round(ci[0], 1),
            "ci_high_percent": None if ci is None else round(ci[1], 1),
            "reference_low": None if rng is None else rng.low,
            "reference_high": None if rng is None else rng.high,
            "flag": r.flag, "per_100_wbc": None,
            "absolute_1e9_per_l": None if r.absolute is None else round(r.absolute, 3),
            "absolute_flag": r.abs_flag,
        })  # fmt: skip
    rows.append({key: None for key in SUMMARY_COLUMNS} | {
        "sample_id": content.case.info.sample_id, "class_id": "wbc_total",
        "class_name": "White cells counted", "in_differential": True,
        "count": t.denominator, "percent": 100.0 if t.denominator else None,
    })  # fmt: skip
    flags = content.flags
    blank = dict.fromkeys(SUMMARY_COLUMNS) | {"sample_id": content.case.info.sample_id}
    rows.append(blank | {"class_id": FLAGGED_ID, "class_name": "Flagged for review",
                         "count": flags.flagged})  # fmt: skip
    rows += [
        blank | {"class_id": f"{FLAGGED_ID}:{reason}", "count": n,
                 "class_name": f"Flagged for review: {reason_label(reason)}"}
        for reason, n in flags.reasons
    ]  # fmt: skip
    return rows
