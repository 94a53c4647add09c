"""Builders shared by the store tests (module name unique across the tests tree)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from hemoscope.core import Box, Cell, CellKind, Field
from hemoscope.store import CaseStore

WHEN = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
Image = npt.NDArray[np.uint8]


def make_image(seed: int, width: int = 96, height: int = 64) -> Image:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def make_field(
    seed: int,
    *,
    n_wbc: int = 4,
    n_rbc: int = 6,
    review_every: int = 3,
    width: int = 96,
    height: int = 64,
) -> Field:
    """A field with classified white cells (every ``review_every``-th flagged) and red cells."""
    classes = ("neutrophil", "lymphocyte", "monocyte", "eosinophil")
    cells = [
        Cell(
            f"w{seed}-{i}",
            Box(i * 5.5, 2.25, i * 5.5 + 12.0, 16.5),
            CellKind.WBC,
            classes[i % len(classes)],
            None,
            0.5 + i / 20,
            0.6 + i / 40,
            review_every > 0 and i % review_every == 0,
        )
        for i in range(n_wbc)
    ]
    cells += [
        Cell(f"r{seed}-{i}", Box(i, 30, i + 8, 38), CellKind.RBC, score=0.7) for i in range(n_rbc)
    ]
    return Field(f"f{seed}", tuple(cells), width, height, f"cam-{seed}", WHEN)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CaseStore]:
    with CaseStore.open(tmp_path / "cases.db") as s:
        yield s
