"""The human-verified white cells of signed-off cases: what a laboratory profile learns from.

A cell is verified when a person decided its class (``final_class`` set: confirmed or
corrected, or drawn by hand and classed); only signed-off cases count, whose decisions a
reviewer stood behind. Cells of cases still open, cells nobody looked at (their class
is only the machine's), and cells out of the tally (already counted in an earlier field,
so the same cell twice, or cut by the field's edge) are left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hemoscope.core import Cell, CellKind, Field

from .errors import ImageStoreError
from .store import CaseStore

__all__ = ["VerifiedField", "verified_fields", "white_cell_fields"]


@dataclass(frozen=True)
class VerifiedField:
    """A field of a signed-off case with at least one verified cell, and its BGR image
    (None when the image is missing or damaged)."""

    case_id: str
    sample_id: str
    field: Field
    cells: tuple[Cell, ...]  # the verified ones
    image: npt.NDArray[np.uint8] | None

    @property
    def name(self) -> str:
        return f"case {self.sample_id} field {self.field.id[:8]}"


def verified_fields(store: CaseStore, *, images: bool = True) -> Iterator[VerifiedField]:
    """Every field of every signed-off case that has cells with a human class, oldest
    case first; ``images=False`` leaves the images unread (counting only)."""
    for summary in reversed(store.list_cases(limit=None)):
        if not summary.signed_off:
            continue
        case = store.load_case(summary.id)
        store.forget(summary.id)
        for fld in case.fields:
            cells = tuple(c for c in fld.cells if c.final_class is not None and c.counted)
            if not cells:
                continue
            image = None
            if images:
                try:
                    image = store.field_image(case.id, fld.id)
                except ImageStoreError:
                    image = None
            yield VerifiedField(case.id, summary.sample_id, fld, cells, image)


def white_cell_fields(store: CaseStore) -> Iterator[VerifiedField]:
    """Every field of every case, signed off or not, with its white cells in the tally
    (whatever their class, verified or not) and its image: what a colour calibration of
    the microscope needs (no labels). ``cells`` here are those white cells."""
    for summary in reversed(store.list_cases(limit=None)):
        case = store.load_case(summary.id)
        store.forget(summary.id)
        for fld in case.fields:
            cells = tuple(c for c in fld.cells if c.kind is CellKind.WBC and c.counted)
            if not cells:
                continue
            try:
                image = store.field_image(case.id, fld.id)
            except ImageStoreError:
                image = None
            yield VerifiedField(case.id, summary.sample_id, fld, cells, image)
