"""Checks of the ``hemoscope analyze --json`` document: keys, types and consistency."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from hemoscope.core import (
    DEFAULT_TAXONOMY,
    REASON_LOW_CONFIDENCE,
    REASON_NOT_RECORDED,
    split_reasons,
)

KINDS = {"wbc", "rbc", "platelet"}
IMAGE_KEYS = {"file", "width", "height", "status", "error", "cells", "counts"}
CELL_KEYS = {"box", "kind", "detected_kind", "class", "score", "probability", "review",
             "review_reason", "uncounted"}  # fmt: skip
UNCOUNTED = {"", "already counted", "cut by the edge"}


def _check_cell(cell: dict[str, Any], width: int, height: int) -> None:
    assert set(cell) == CELL_KEYS, cell
    x1, y1, x2, y2 = cell["box"]
    assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height, cell["box"]
    assert cell["kind"] in KINDS and cell["detected_kind"] in KINDS
    assert 0 <= cell["score"] <= 1 and isinstance(cell["review"], bool)
    assert isinstance(cell["review_reason"], str)
    assert cell["review"] or cell["review_reason"] == ""  # a reason only on a flagged cell
    assert cell["uncounted"] in UNCOUNTED
    assert cell["detected_kind"] == "wbc" or cell["uncounted"] == ""  # white cells only
    if cell["detected_kind"] == "wbc":
        assert cell["class"] in DEFAULT_TAXONOMY
        assert 0 <= cell["probability"] <= 1
        expected = DEFAULT_TAXONOMY[cell["class"]].kind.value
        assert cell["kind"] == expected  # what it counts as
    else:  # a detected platelet is the "platelet" class; a red cell has none
        expected_class = "platelet" if cell["detected_kind"] == "platelet" else None
        assert cell["class"] == expected_class and cell["probability"] is None
        assert cell["kind"] == cell["detected_kind"] and cell["review"] is False


def _check_image(image: dict[str, Any]) -> None:
    assert set(image) == IMAGE_KEYS, image
    assert isinstance(image["file"], str) and image["file"]
    if image["status"] == "error":
        assert isinstance(image["error"], str) and image["error"]
        assert image["cells"] == [] and image["counts"] is None
        assert image["width"] is None and image["height"] is None
        return
    assert image["status"] == "ok" and image["error"] is None
    assert image["width"] > 0 and image["height"] > 0
    for cell in image["cells"]:
        _check_cell(cell, image["width"], image["height"])
    kinds = [c["kind"] for c in image["cells"]]
    assert image["counts"] == {k: kinds.count(k) for k in ("wbc", "rbc", "platelet")}


def _check_flagged(flagged: dict[str, Any], cells: list[dict[str, Any]]) -> None:
    """``flagged`` counts the flagged cells, and each of their reasons."""
    marked = [c for c in cells if c["review"]]
    assert flagged["total"] == len(marked)
    reasons: Counter[str] = Counter()
    for c in marked:
        reasons.update(split_reasons(c["review_reason"]) or (REASON_NOT_RECORDED,))
    assert flagged["by_reason"] == dict(reasons)


def _check_red_cells(red: dict[str, Any], ok: list[dict[str, Any]]) -> None:
    """Red cells per field are the red cells listed per image; each whole one measured."""
    assert red["per_field"] == [sum(c["kind"] == "rbc" for c in i["cells"]) for i in ok]
    assert red["total"] == sum(red["per_field"]) >= red["measured"]
    assert sum(red["histogram"]["counts"]) == red["measured"]
    est = red["estimate"]
    assert est["is_estimate"] is True and "estimate" in est["note"].lower()
    if ok:
        assert math.isclose(est["mean_per_field"], red["total"] / len(ok), abs_tol=1e-4)
    assert (red["diameter_um"] is None) == (red["um_per_px"] is None)


def check_document(doc: dict[str, Any], review_threshold: float | None = None) -> None:
    """Assert that ``doc`` follows the documented schema and is self-consistent."""
    assert doc["version"] == 2
    for image in doc["images"]:
        _check_image(image)
    ok = [i for i in doc["images"] if i["status"] == "ok"]
    assert doc["files"] == {
        "total": len(doc["images"]),
        "ok": len(ok),
        "failed": len(doc["images"]) - len(ok),
    }
    diff = doc["differential"]
    classes = diff["classes"]
    assert list(classes) == list(DEFAULT_TAXONOMY.ids)
    # The differential counts the white cells not marked uncounted (an earlier image showed
    # them, or the image's edge cuts them).
    wbc_cells = [
        c for i in ok for c in i["cells"] if c["detected_kind"] == "wbc" and not c["uncounted"]
    ]
    for cid, row in classes.items():
        assert row["count"] == sum(c["class"] == cid for c in wbc_cells), cid
        assert row["in_differential"] == DEFAULT_TAXONOMY[cid].in_differential
    in_diff = [r for r in classes.values() if r["in_differential"]]
    assert diff["total"] == sum(r["count"] for r in in_diff)
    if diff["total"]:
        assert math.isclose(sum(r["percent"] for r in in_diff), 100.0, abs_tol=0.1)
        for r in in_diff:
            lo, hi = r["ci95"]
            assert 0 <= lo <= r["percent"] <= hi <= 100
    else:
        assert all(r["percent"] is None and r["ci95"] is None for r in in_diff)
    assert diff["review"] == sum(c["review"] for c in wbc_cells)
    _check_flagged(doc["flagged"], [c for i in ok for c in i["cells"]])
    assert diff["target_reached"] == (diff["total"] >= diff["target"])
    est = doc["estimates"]
    assert est["is_estimate"] is True and est["fields"] == len(ok)
    if ok:
        plt = est["platelets"]
        mean = sum(i["counts"]["platelet"] for i in ok) / len(ok)
        assert plt["is_estimate"] is True and plt["unit"] == "/µL"
        assert math.isclose(plt["mean_per_field"], mean, abs_tol=1e-4)
        assert math.isclose(plt["value"], mean * plt["factor"], abs_tol=0.1)
    if review_threshold is not None:
        assert doc["review_threshold"] == review_threshold
        for c in wbc_cells:
            low = c["probability"] < review_threshold
            if c["review_reason"]:  # low confidence is one reason among others
                said_low = REASON_LOW_CONFIDENCE in split_reasons(c["review_reason"])
                assert c["review"] and (low or not said_low)
            else:
                assert c["review"] == low
    _check_red_cells(doc["red_cells"], ok)
    assert set(doc["models"]) == {"detector", "classifier"}
