"""CSV and JSON exports of a case: every cell, and the differential summary.

CSV is written for spreadsheets: UTF-8 with a byte-order mark (Excel reads accents
right), CRLF line ends, and text that a spreadsheet would run as a formula (starting
with ``= + - @``, a tab or a carriage return) prefixed with a single quote. Numbers are
written as numbers. Every file is written atomically (see :mod:`.atomic`); a failure
raises `ExportError` and changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hemoscope.core import case_to_dict

from .atomic import atomic_write_text
from .content import ReportContent
from .decisions import Decisions
from .tables import CELL_COLUMNS, SUMMARY_COLUMNS, cell_rows, summary_rows

__all__ = [
    "EXPORT_SCHEMA",
    "cells_csv",
    "export_dict",
    "neutralise_formula",
    "summary_csv",
    "write_cells_csv",
    "write_json",
    "write_summary_csv",
]

EXPORT_SCHEMA = 1
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: str) -> str:
    """``value`` with a leading ``'`` when a spreadsheet would treat it as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return neutralise_formula(value)
    return value


def _csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def cells_csv(content: ReportContent, decisions: Decisions | None = None) -> str:
    """The per-cell CSV text (see :data:`~.tables.CELL_COLUMNS`)."""
    return _csv(CELL_COLUMNS, cell_rows(content.case, content.settings.taxonomy, decisions))


def summary_csv(content: ReportContent) -> str:
    """The summary CSV text: one row per class and a total row."""
    return _csv(SUMMARY_COLUMNS, summary_rows(content))


def export_dict(content: ReportContent, decisions: Decisions | None = None) -> dict[str, Any]:
    """Everything as JSON-ready data: the case itself, the summary and every cell."""
    t, est, sw = content.tally, content.estimates, content.settings.software
    estimates = {
        name: None if e is None else {
            "value_per_ul": e.value, "mean_per_field": e.mean_per_field,
            "n_fields": e.n_fields, "factor": e.factor, "is_estimate": True}
        for name, e in (("platelets", est.platelets), ("wbc", est.wbc))
    }  # fmt: skip
    return {
        "schema": EXPORT_SCHEMA,
        "exported_at": datetime.now(UTC).isoformat(),
        "software": {"name": sw.name, "version": sw.version,
                     "models": [{"name": m.name, "version": m.version, "sha256": m.sha256}
                                for m in sw.models]},
        "case": case_to_dict(content.case),
        "summary": {
            "reference_set": t.reference_name, "target": t.target,
            "wbc_counted": t.denominator, "unclassified": t.unclassified,
            "nrbc_per_100_wbc": t.nrbc_per_100, "wbc_count": t.wbc_count,
            "corrected_wbc_count": t.corrected_wbc_count,
            "pending_review": len(content.pending),
            "flagged_for_review": {"total": content.flags.flagged,
                                   "by_reason": content.flags.by_reason},
            "review": {"nucleated": content.review.nucleated,
                       "reviewed": content.review.reviewed,
                       "corrected": content.review.corrected, "added": content.review.added,
                       "manual_counts": content.review.manual_counts},
            "classes": summary_rows(content), "estimates": estimates,
        },
        "cells": cell_rows(content.case, content.settings.taxonomy, decisions),
    }  # fmt: skip


def write_cells_csv(
    path: str | os.PathLike[str], content: ReportContent, decisions: Decisions | None = None
) -> Path:
    return atomic_write_text(path, cells_csv(content, decisions), encoding="utf-8-sig")


def write_summary_csv(path: str | os.PathLike[str], content: ReportContent) -> Path:
    return atomic_write_text(path, summary_csv(content), encoding="utf-8-sig")


def write_json(
    path: str | os.PathLike[str], content: ReportContent, decisions: Decisions | None = None
) -> Path:
    text = json.dumps(export_dict(content, decisions), ensure_ascii=False, indent=1)
    return atomic_write_text(path, text + "\n")
