"""The red-cell picture: counts per field, whole-cell diameters, histogram, calibration."""

import numpy as np
import pytest
from core_factories import WHEN

from hemoscope.core import (
    Box,
    Case,
    CaseInfo,
    Cell,
    CellKind,
    Field,
    diameter_histogram,
    field_red_cells,
    red_cell_summary,
    um_per_px_from_micrometer,
)


def red_field(diameters: list[float], *, cut: int = 0, wbc: int = 0, size: int = 400) -> Field:
    """A generated field: red cells of the given diameters (square boxes) in a grid
    inside the field, ``cut`` more red cells cut by the left edge, ``wbc`` white cells."""
    cells = []
    for i, d in enumerate(diameters):
        x, y = 20 + (i % 6) * 60, 20 + (i // 6) * 60
        cells.append(Cell(f"r{i}", Box(x, y, x + d, y + d), CellKind.RBC))
    for i in range(cut):
        cells.append(Cell(f"e{i}", Box(0, 10 + 50 * i, 30, 50 + 50 * i), CellKind.RBC))
    for i in range(wbc):
        cells.append(Cell(f"w{i}", Box(300, 300, 350, 350), CellKind.WBC, "neutrophil"))
    return Field(f"f{len(diameters)}-{cut}", tuple(cells), size, size, "gen", WHEN)


def test_field_red_cells_measures_only_whole_cells() -> None:
    n, d = field_red_cells(red_field([30.0, 40.0], cut=3, wbc=2))
    assert n == 5  # cut cells are counted
    assert sorted(d.tolist()) == [30.0, 40.0]  # but not measured
    # a box's diameter is the mean of its width and height
    oval = Field("o", (Cell("r", Box(10, 10, 50, 30), CellKind.RBC),), 100, 100, "", WHEN)
    assert field_red_cells(oval)[1].tolist() == [30.0]


def test_histogram_of_known_diameters() -> None:
    diameters = [30.0] * 5 + [34.0] * 10 + [38.0] * 3 + [45.0]
    fields = [red_field(diameters[:10], cut=2), red_field(diameters[10:], cut=1, wbc=1)]
    s = red_cell_summary(fields)
    assert s.per_field == (12, 10) and s.total == 22 and s.n_measured == 19
    assert s.mean_per_field == 11.0 and s.is_estimate
    assert s.median_px == 34.0 and s.iqr_px == (32.0, 34.0)
    assert s.median_um is None and s.per_1000_um2 is None  # not calibrated
    h = s.histogram()
    assert h.unit == "px" and h.bin_width == 2.0  # (45 - 30) / 12 -> 2 px bins
    assert h.edges[0] == 30.0 and h.edges[-1] > 45.0
    assert sum(h.counts) == 19
    assert h.counts[0] == 5 and h.counts[2] == 10 and h.counts[4] == 3 and h.counts[-1] == 1


def test_calibrated_in_micrometres() -> None:
    scale = um_per_px_from_micrometer(100.0, 400.0)  # 100 µm of a stage micrometer: 400 px
    assert scale == 0.25
    diameters = [28.0] * 4 + [30.0] * 8 + [36.0] * 2  # 7.0, 7.5 and 9.0 µm
    case = Case(CaseInfo(sample_id="s"), (red_field(diameters),))
    s = red_cell_summary(case, scale)
    assert s.median_um == pytest.approx(7.5) and s.median_px == 30.0
    h = s.histogram()
    assert h.unit == "µm" and h.bin_width == 0.5
    assert h.edges[0] == 7.0 and dict(zip(h.edges, h.counts, strict=False))[7.5] == 8
    assert sum(h.counts) == 14
    # 14 cells on 400 x 400 px = 100 x 100 µm = 10,000 µm²
    assert s.per_1000_um2 == pytest.approx(1.4)


def test_empty_and_invalid() -> None:
    s = red_cell_summary([])
    assert s.mean_per_field is None and s.median_px is None and s.histogram().counts == ()
    assert red_cell_summary([red_field([])]).mean_per_field == 0.0
    assert diameter_histogram(np.array([5.0, 5.0])).counts == (2,)
    assert red_cell_summary([red_field([])], 0.0).um_per_px is None  # 0: not calibrated
    with pytest.raises(ValueError):
        um_per_px_from_micrometer(0, 10)
    with pytest.raises(ValueError):
        um_per_px_from_micrometer(10, float("nan"))
    with pytest.raises(ValueError):
        diameter_histogram([1.0], bin_width=0)
    with pytest.raises(ValueError):
        red_cell_summary([], -1.0)
