"""A cell out of the tally says so in the per-cell CSV rows and stays out of the report's
cell pages, so that no cell shows or counts twice."""

from __future__ import annotations

import numpy as np

from hemoscope.core import DEFAULT_TAXONOMY, Box, Case, CaseInfo, Cell, CellKind, Field
from hemoscope.core.overlap import UNCOUNTED_REPEAT
from hemoscope.report.tables import CELL_COLUMNS, cell_rows
from hemoscope.report.thumbnails import class_thumbnails


def test_marked_cells_are_named_in_the_rows_and_left_off_the_cell_pages() -> None:
    counted = Cell.create(Box(10, 10, 40, 40), CellKind.WBC, auto_class="lymphocyte")
    repeat = Cell.create(Box(50, 10, 80, 40), CellKind.WBC, auto_class="lymphocyte",
                         uncounted=UNCOUNTED_REPEAT)  # fmt: skip
    field = Field.create([counted, repeat], 100, 60)
    case = Case(CaseInfo("R-1"), (field,))
    rows = cell_rows(case, DEFAULT_TAXONOMY)
    assert "not_counted" in CELL_COLUMNS
    assert [r["not_counted"] for r in rows] == ["", UNCOUNTED_REPEAT]
    image = np.zeros((60, 100, 3), np.uint8)
    pages = class_thumbnails(case, {field.id: image}.get, DEFAULT_TAXONOMY, size=16)
    assert [(p.class_id, p.total, len(p.items)) for p in pages] == [("lymphocyte", 1, 1)]
