"""``hemoscope analyze``: the red-cell figures in the JSON and the table."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from analyze_schema import check_document
from analyze_testing import Runner

from hemoscope.commands.analyze_report import red_cells_json, red_cells_line
from hemoscope.commands.analyze_run import RedCells
from hemoscope.core import DEFAULT_TAXONOMY, Box, Cell, CellKind, Field

WHEN = datetime(2026, 1, 5, tzinfo=UTC)


def known_field(diameters: list[float], cut: int = 1) -> Field:
    """Red cells of known diameters wholly inside a 400 x 400 field, ``cut`` at its edge."""
    cells = [
        Cell(f"r{i}", Box(20 + 60 * (i % 6), 20 + 60 * (i // 6), 20 + 60 * (i % 6) + d,
                          20 + 60 * (i // 6) + d), CellKind.RBC)
        for i, d in enumerate(diameters)
    ]  # fmt: skip
    cells += [Cell(f"e{i}", Box(0, 50 * i, 25, 50 * i + 30), CellKind.RBC) for i in range(cut)]
    return Field(f"f{len(diameters)}", tuple(cells), 400, 400, "gen", WHEN)


def test_red_cells_json_of_known_diameters() -> None:
    red = RedCells()
    red.add(known_field([28.0] * 6 + [32.0] * 3), DEFAULT_TAXONOMY)
    red.add(known_field([36.0, 32.0], cut=2), DEFAULT_TAXONOMY)
    doc = red_cells_json(red.summary(0.25))  # 0.25 µm per pixel
    assert doc["per_field"] == [10, 4] and doc["total"] == 14 and doc["measured"] == 11
    assert doc["diameter_px"]["median"] == 28.0 and doc["diameter_um"]["median"] == 7.0
    assert doc["histogram"]["unit"] == "µm" and doc["histogram"]["edges"][0] == 7.0
    assert doc["histogram"]["counts"] == [6, 0, 4, 0, 1]  # 0.5 µm bins: 7.0, 8.0, 9.0 µm
    assert doc["estimate"]["is_estimate"] is True and doc["estimate"]["mean_per_field"] == 7.0
    assert doc["estimate"]["per_1000_um2"] == pytest.approx(1000 * 14 / (2 * 100 * 100))
    line = red_cells_line(doc)
    assert "7.0 per field (estimate)" in line and "7.00 µm (28.0 px)" in line
    plain = red_cells_json(red.summary(None))
    assert plain["diameter_um"] is None and plain["histogram"]["unit"] == "px"
    assert plain["estimate"]["per_1000_um2"] is None


def test_analyze_json_carries_the_red_cells(run_analyze: Runner, field_folder: Path) -> None:
    out = field_folder.parent
    res = run_analyze(field_folder, "--json", out / "r.json", "--um-per-pixel", "0.2")
    assert res.code == 0, res.err
    doc = json.loads((out / "r.json").read_text(encoding="utf-8"))
    check_document(doc)  # red cells per field are those listed per image
    red = doc["red_cells"]
    assert red["um_per_px"] == 0.2 and len(red["per_field"]) == 3
    if red["measured"]:
        assert red["diameter_um"]["median"] == pytest.approx(
            0.2 * red["diameter_px"]["median"], abs=0.02
        )
    assert "red cells: " in res.out and "(estimate)" in res.out
    assert run_analyze(field_folder, "--um-per-pixel", "0").code == 1
