"""The report's red-cell section: figures, histogram, the estimate marked as such."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from report_factories import WHEN
from report_pdf_text import pdf_pages

from hemoscope.core import Box, Case, CaseInfo, Cell, CellKind, Field, red_cell_summary
from hemoscope.report import ReportSettings, write_pdf
from hemoscope.report.html_red_cells import red_cells_html


def red_case(diameters: list[float], cut: int = 2) -> Case:
    """One 400 x 400 field: red cells of known diameters, ``cut`` more at the edge, and
    a classified white cell."""
    cells = [
        Cell(f"r{i}", Box(20 + 60 * (i % 6), 20 + 60 * (i // 6),
                          20 + 60 * (i % 6) + d, 20 + 60 * (i // 6) + d), CellKind.RBC)
        for i, d in enumerate(diameters)
    ]  # fmt: skip
    cells += [Cell(f"e{i}", Box(0, 40 * i, 20, 40 * i + 30), CellKind.RBC) for i in range(cut)]
    cells.append(Cell("w", Box(300, 300, 360, 360), CellKind.WBC, "lymphocyte", probability=0.9))
    return Case(CaseInfo(sample_id="RBC-1"), (Field("f", tuple(cells), 400, 400, "g", WHEN),))


DIAMETERS = [28.0] * 4 + [30.0] * 8 + [36.0] * 2  # 7.0, 7.5, 9.0 µm at 0.25 µm/px


def test_section_in_pixels_and_micrometres() -> None:
    case = red_case(DIAMETERS)
    html = red_cells_html(case, ReportSettings())
    assert "Red cells" in html and "ESTIMATE: ≈ 16.0 red cells per field" in html
    assert "median 30.0 px" in html and "14 whole red cells" in html
    assert "not calibrated" in html and "µm" not in html.split("Diameter")[1].split("<p")[0]
    assert "px: 28–29: 4 · 29–30: 0 · 30–31: 8" in html and "36–37: 2" in html  # 1 px bins
    assert 'src="red-cells.png"' in html
    cal = red_cells_html(case, ReportSettings(um_per_px=0.25))
    assert "median 7.50 µm" in cal and "µm: 7.0–7.5: 4 · 7.5–8.0: 8" in cal and "9.0–9.5: 2" in cal
    assert "per 1,000 µm² imaged" in cal and "not the blood" in cal
    assert red_cells_html(Case(CaseInfo(sample_id="x"), ()), ReportSettings()) == ""
    # figures given with the settings win (analyze drops the fields' red cells)
    given = red_cell_summary(red_case([40.0] * 3, cut=0))
    assert "median 40.0 px" in red_cells_html(case, ReportSettings(red_cells=given))


def test_pdf_shows_the_red_cells(tmp_path: Path) -> None:
    pdf = write_pdf(red_case(DIAMETERS), tmp_path / "r.pdf", ReportSettings(um_per_px=0.25))
    text = " ".join(" ".join(p) for p in pdf_pages(pdf)).replace("\u03bc", "\u00b5")  # NFKC
    assert "Red cells" in text and "ESTIMATE" in text and "16.0 red cells per field" in text
    assert "median 7.50 µm" in text and "7.5–8.0: 8" in text
    assert replace(ReportSettings(), um_per_px=None).um_per_px is None
