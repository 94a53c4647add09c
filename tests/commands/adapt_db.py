"""A small case database for the adapt tests: one signed-off case with confirmed,
corrected, unverified and non-classifier cells, and one open case with verified cells."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from adapt_data import LAB_CLASSES, lab_cell

from hemoscope.core import Box, CaseInfo, Cell, CellKind, Field
from hemoscope.store import CaseStore

WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
WRONG = {"neutrophil": "lymphocyte", "lymphocyte": "eosinophil", "eosinophil": "neutrophil"}


def field_of(seed: int, verified: int, extra: str | None = None) -> tuple[Field, np.ndarray]:
    """A 192x192 field of four generated cells (2x2 tiles); the first ``verified`` carry a
    human class (confirmed, then corrected, alternately); ``extra``: the last one's human
    class set to it instead."""
    image = np.zeros((192, 192, 3), np.uint8)
    cells = []
    for i in range(4):
        cls = LAB_CLASSES[(seed + i) % 3]
        y, x = divmod(i, 2)
        image[96 * y : 96 * y + 96, 96 * x : 96 * x + 96] = lab_cell(cls, 7 * seed + i)
        auto = cls if i % 2 == 0 else WRONG[cls]  # the machine got every second one wrong
        final = cls if i < verified else None
        if extra is not None and i == 3:
            final = extra
        box = Box(96 * x + 26, 96 * y + 26, 96 * x + 70, 96 * y + 70)
        cells.append(Cell(f"c{seed}-{i}", box, CellKind.WBC, auto, final, 0.9, 0.8, False))
    return Field(f"f{seed}", tuple(cells), 192, 192, f"cam-{seed}", WHEN), image


def case_database(path: Path) -> tuple[Path, int]:
    """The database, and how many verified classifier-class cells its signed-off case has
    (counted ones: cells already counted in an earlier field are left out)."""
    with CaseStore.open(path) as store:
        signed = store.create_case(CaseInfo(sample_id="S-1"), operator="ana")
        expected = 0
        for seed in range(4):
            verified = 3 if seed < 3 else 4
            fld, img = field_of(seed, verified, extra="smudge" if seed == 3 else None)
            signed, _ = store.add_field(signed, fld, img[:, :, ::-1].copy(), operator="ana")
            expected += verified - (1 if seed == 3 else 0)
        # A field whose verified cells were already counted in an earlier field: the same
        # cells again, left out.
        fld, img = field_of(1, 4)
        fld = replace(
            fld,
            id="f-again",
            cells=tuple(replace(c, uncounted="already counted") for c in fld.cells),
        )
        signed, _ = store.add_field(signed, fld, img[:, :, ::-1].copy(), operator="ana")
        store.record_sign_off(signed, performed_by="ana", reviewed_by="ben")
        open_case = store.create_case(CaseInfo(sample_id="S-2"), operator="ana")
        for seed in range(10, 13):
            fld, img = field_of(seed, 4)
            open_case, _ = store.add_field(open_case, fld, img[:, :, ::-1].copy(), operator="ana")
    return path, expected
