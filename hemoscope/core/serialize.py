"""Plain-data (JSON-ready) form of cases, fields and cells, and back.

Dates are ISO 8601 strings; boxes are ``[x1, y1, x2, y2]``; kinds are their enum values.
``case_from_dict(case_to_dict(case)) == case``. Data carry ``"schema": SCHEMA_VERSION``;
readers refuse a newer schema than they know. Keys added later are optional and read
with their default when absent (``review_reason``, ``uncounted``: ``""``), so they need
no new schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from .case import Case, CaseInfo
from .cells import Cell, Field, ModelStamp
from .geometry import Box
from .taxonomy import CellKind

__all__ = [
    "SCHEMA_VERSION",
    "case_from_dict",
    "case_to_dict",
    "cell_from_dict",
    "cell_to_dict",
    "field_from_dict",
    "field_to_dict",
    "info_from_dict",
    "info_to_dict",
    "models_from_list",
    "models_to_list",
]

SCHEMA_VERSION = 1


def cell_to_dict(cell: Cell) -> dict[str, Any]:
    return {
        "id": cell.id,
        "box": list(cell.box.as_tuple()),
        "kind": cell.kind.value,
        "auto_class": cell.auto_class,
        "final_class": cell.final_class,
        "score": cell.score,
        "probability": cell.probability,
        "review": cell.review,
        "manual": cell.manual,
        "review_reason": cell.review_reason,
        "uncounted": cell.uncounted,
    }


def cell_from_dict(data: Mapping[str, Any]) -> Cell:
    prob = data.get("probability")
    return Cell(
        str(data["id"]),
        Box.from_array(data["box"]),
        CellKind(data["kind"]),
        data.get("auto_class"),
        data.get("final_class"),
        float(data.get("score", 1.0)),
        None if prob is None else float(prob),
        bool(data.get("review", False)),
        bool(data.get("manual", False)),
        str(data.get("review_reason") or ""),
        str(data.get("uncounted") or ""),
    )


def field_to_dict(fld: Field) -> dict[str, Any]:
    return {
        "id": fld.id,
        "width": fld.width,
        "height": fld.height,
        "source": fld.source,
        "captured_at": fld.captured_at.isoformat(),
        "models": models_to_list(fld.models),
        "cells": [cell_to_dict(c) for c in fld.cells],
    }


def models_to_list(models: Iterable[ModelStamp]) -> list[dict[str, str]]:
    return [{"name": m.name, "version": m.version, "sha256": m.sha256} for m in models]


def models_from_list(data: Iterable[Mapping[str, Any]]) -> tuple[ModelStamp, ...]:
    return tuple(
        ModelStamp(str(m["name"]), str(m.get("version", "")), str(m.get("sha256", "")))
        for m in data
    )


def field_from_dict(data: Mapping[str, Any]) -> Field:
    return Field(
        str(data["id"]),
        tuple(cell_from_dict(c) for c in data.get("cells", ())),
        int(data["width"]),
        int(data["height"]),
        str(data.get("source", "")),
        datetime.fromisoformat(data["captured_at"]),
        models_from_list(data.get("models", ())),
    )


def info_to_dict(info: CaseInfo) -> dict[str, Any]:
    return {
        "sample_id": info.sample_id,
        "patient_id": info.patient_id,
        "patient_name": info.patient_name,
        "specimen_date": None if info.specimen_date is None else info.specimen_date.isoformat(),
        "operator": info.operator,
        "wbc_count": info.wbc_count,
        "comments": info.comments,
    }


def info_from_dict(data: Mapping[str, Any]) -> CaseInfo:
    when = data.get("specimen_date")
    wbc = data.get("wbc_count")
    return CaseInfo(
        str(data["sample_id"]),
        str(data.get("patient_id", "")),
        str(data.get("patient_name", "")),
        None if when is None else date.fromisoformat(when),
        str(data.get("operator", "")),
        None if wbc is None else float(wbc),
        str(data.get("comments", "")),
    )


def case_to_dict(case: Case) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "id": case.id,
        "info": info_to_dict(case.info),
        "manual_counts": case.manual.to_dict(),
        "fields": [field_to_dict(f) for f in case.fields],
    }


def case_from_dict(data: Mapping[str, Any]) -> Case:
    """Inverse of :func:`case_to_dict`; raises ``ValueError``/``KeyError`` on bad data."""
    schema = int(data.get("schema", SCHEMA_VERSION))
    if schema > SCHEMA_VERSION:
        raise ValueError(
            f"case data has schema {schema}; this version reads up to {SCHEMA_VERSION}"
        )
    return Case(
        info_from_dict(data["info"]),
        tuple(field_from_dict(f) for f in data.get("fields", ())),
        {str(k): int(v) for k, v in data.get("manual_counts", {}).items()},
        str(data["id"]),
    )
