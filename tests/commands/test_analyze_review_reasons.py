"""``hemoscope analyze`` says why each cell is flagged for review, and counts the flagged
cells by reason (JSON, CSV, the table), with a stand-in pipeline that gives reasons."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from analyze_schema import check_document

from hemoscope.commands.analyze_output import CELL_COLUMNS
from hemoscope.commands.analyze_report import cell_row, table
from hemoscope.commands.analyze_run import Options, run
from hemoscope.core import (
    DEFAULT_TAXONOMY,
    REASON_DISAGREE,
    REASON_LOW_CONFIDENCE,
    REASON_UNFAMILIAR,
    REVIEW_REASONS,
    Box,
    Case,
    CaseInfo,
    Cell,
    CellKind,
    Field,
    Tally,
    count_flags,
    join_reasons,
)

BOTH = join_reasons([REASON_LOW_CONFIDENCE, REASON_UNFAMILIAR])


class ReasonPipeline:
    """Per image: a confident neutrophil, a low-confidence monocyte, an unsure and
    unfamiliar blast, a white-cell detection the classifier calls a platelet, a red cell."""

    taxonomy = DEFAULT_TAXONOMY
    review_threshold = 0.6
    stamps = ()

    def analyze(self, image: np.ndarray, channels: str, *, source: str = "") -> Field:
        def wbc(x: float, cls: str, p: float, reason: str = "") -> Cell:
            box = Box(x, 10, x + 30, 40)
            return Cell.create(box, CellKind.WBC, auto_class=cls, score=0.9, probability=p,
                               review=bool(reason), review_reason=reason)  # fmt: skip

        cells = [
            wbc(0, "neutrophil", 0.97),
            wbc(40, "monocyte", 0.41, REASON_LOW_CONFIDENCE),
            wbc(80, "blast", 0.35, BOTH),
            wbc(120, "platelet", 0.9, REASON_DISAGREE),
            Cell.create(Box(10, 50, 30, 70), CellKind.RBC, score=0.8),
        ]
        return Field.create(cells, image.shape[1], image.shape[0], source)

    def model_cards(self) -> dict[str, dict[str, Any]]:
        return {"detector": {"name": "d", "version": "1"}, "classifier": {"name": "c"}}


def test_json_csv_and_table_carry_the_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "fields"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(folder / name), np.full((80, 200, 3), 220, np.uint8))
    outputs = {"json": tmp_path / "r.json", "csv": tmp_path / "cells.csv"}
    code = run(Options([folder], outputs=outputs, progress=False), ReasonPipeline())  # type: ignore[arg-type]
    assert code == 0
    doc = json.loads(outputs["json"].read_text(encoding="utf-8"))
    check_document(doc, ReasonPipeline.review_threshold)
    cells = doc["images"][0]["cells"]
    assert [c["review_reason"] for c in cells] == ["", REASON_LOW_CONFIDENCE, BOTH,
                                                   REASON_DISAGREE, ""]  # fmt: skip
    assert doc["flagged"] == {
        "total": 6,
        "by_reason": {REASON_LOW_CONFIDENCE: 4, REASON_UNFAMILIAR: 2, REASON_DISAGREE: 2},
    }
    with outputs["csv"].open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[-2:] == ["review_reason", "uncounted"]  # new columns come last
    assert list(rows[0]) == list(CELL_COLUMNS)
    assert [r["review_reason"] for r in rows[:5]] == [c["review_reason"] for c in cells]
    assert rows[2]["review"] == "yes"
    out = capsys.readouterr().out
    assert (
        "cells flagged for review: 6 (low confidence 4, unfamiliar 2, "
        "detector and classifier disagree 2)" in out
    )


def test_cell_row_and_table_without_flags() -> None:
    cell = Cell.create(Box(0, 0, 9, 9), CellKind.WBC, auto_class="monocyte", probability=0.4,
                       review=True, review_reason=REASON_LOW_CONFIDENCE)  # fmt: skip
    row = cell_row(cell)
    assert (row["review"], row["review_reason"]) == (True, REASON_LOW_CONFIDENCE)
    assert cell_row(Cell.create(Box(0, 0, 9, 9), CellKind.RBC))["review_reason"] == ""
    tally = Tally.from_case(Case(CaseInfo("x")))
    estimates: dict[str, Any] = {"platelets": None, "wbc": None}
    assert "cells flagged for review: 0\n" in table(tally, estimates, 1, 0)
    flags = count_flags([cell])
    assert "cells flagged for review: 1 (low confidence 1)" in table(tally, estimates, 1, 0, flags)


def test_single_cell_reasons_are_in_the_vocabulary() -> None:
    from hemoscope.vision.single_cell import review_reason

    given = {
        review_reason("no cell found", "lymphocyte", False),
        review_reason("no white cell found", "lymphocyte", False),
        review_reason("detected", "lymphocyte", True),
    }
    assert given == {"no cell found", "no white cell found", REASON_LOW_CONFIDENCE}
    assert given <= set(REVIEW_REASONS)
