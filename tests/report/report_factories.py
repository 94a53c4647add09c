"""Builders shared by the report tests (module name unique across the tests tree)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

import numpy as np
import numpy.typing as npt

from hemoscope.core import Box, Case, CaseInfo, Cell, CellKind, Field

WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
Image = npt.NDArray[np.uint8]
W, H = 160, 120


def field_image(seed: int) -> Image:
    """A smooth, recognisable picture (gradients plus a seed-dependent tint)."""
    yy, xx = np.mgrid[0:H, 0:W]
    img = np.stack(
        [xx * 255 // (W - 1), yy * 255 // (H - 1), np.full_like(xx, (seed * 37) % 256)], axis=-1
    )
    return img.astype(np.uint8)


def case_with(
    counts: Mapping[str, int],
    *,
    per_field: int = 10,
    wbc_count: float | None = None,
    review: int = 0,
    platelets_per_field: int = 12,
    comments: str = "",
    info: CaseInfo | None = None,
) -> Case:
    """A case whose white cells have these automatic classes, ``per_field`` per field.

    The first ``review`` cells are flagged for review (pending). Each field also holds
    a few red cells and ``platelets_per_field`` platelets.
    """
    labels = [cid for cid, n in counts.items() for _ in range(n)]
    fields = []
    for f in range(0, max(1, len(labels)), per_field):
        chunk = labels[f : f + per_field]
        cells = [
            Cell(
                f"w{f + i}",
                Box(5 + 14 * i, 10, 17 + 14 * i, 24),
                CellKind.WBC,
                cid,
                None,
                0.9,
                0.8,
                f + i < review,
            )
            for i, cid in enumerate(chunk)
        ]
        cells += [
            Cell(f"r{f}-{i}", Box(3 * i, 60, 3 * i + 9, 69), CellKind.RBC, score=0.7)
            for i in range(4)
        ]
        cells += [
            Cell(f"p{f}-{i}", Box(4 * i, 100, 4 * i + 3, 103), CellKind.PLATELET, score=0.6)
            for i in range(platelets_per_field)
        ]
        fields.append(Field(f"f{f // per_field}", tuple(cells), W, H, "test", WHEN))
    return Case(
        info or CaseInfo("S-42", "P-7", "Doe, Jane", date(2026, 3, 1), "AB", wbc_count, comments),
        tuple(fields),
        id="case-42",
    )


def images_of(case: Case) -> dict[str, Image]:
    return {f.id: field_image(i) for i, f in enumerate(case.fields)}
