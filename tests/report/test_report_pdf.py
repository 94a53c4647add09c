"""The PDF report: its text (read back with pypdf) shows the table, flags and the rest."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtGui import QColor, QImage
from report_factories import case_with, images_of
from report_pdf_text import pdf_pages, row_after

from hemoscope.core import CaseInfo, ModelStamp, ReferenceRange, clopper_pearson
from hemoscope.report import (
    LabInfo,
    ReportSettings,
    SoftwareInfo,
    sign_off,
    write_pdf,
)

LYMPHOCYTOSIS = {"neutrophil": 30, "lymphocyte": 60, "monocyte": 2, "eosinophil": 5,
                 "basophil": 3}  # fmt: skip


def test_differential_table_and_flags(tmp_path: Path) -> None:
    case = case_with(LYMPHOCYTOSIS, wbc_count=8.0)
    start = time.perf_counter()
    pdf = write_pdf(case, tmp_path / "r.pdf")
    assert time.perf_counter() - start < 10
    lines = pdf_pages(pdf)[0]
    lo, hi = clopper_pearson(60, 100).as_percent()
    assert row_after(lines, "Lymphocyte", 6) == ["60", "60.0", f"{lo:.1f}–{hi:.1f}", "18–43",
                                                 "H", "4.80"]  # fmt: skip
    assert row_after(lines, "Neutrophil (segmented)", 6)[:5] == ["30", "30.0", "21.2–40.0",
                                                                "43–72", "L"]  # fmt: skip
    assert row_after(lines, "Monocyte", 5)[4] == "L"
    assert row_after(lines, "Eosinophil", 5) == ["5", "5.0", "1.6–11.3", "0–8", "0.40"]
    assert row_after(lines, "Basophil", 5)[4] == "H"
    assert row_after(lines, "White cells counted", 2) == ["100", "100.0"]
    assert "Absolute ×10" in lines and "PRELIMINARY" not in " ".join(lines)
    assert "Sample S-42 · HemoScope 0.1.0" in lines and "Page 1 of 1" in lines


def test_no_absolute_counts_without_wbc_count(tmp_path: Path) -> None:
    lines = pdf_pages(write_pdf(case_with(LYMPHOCYTOSIS), tmp_path / "r.pdf"))[0]
    assert "Absolute ×10" not in lines
    assert row_after(lines, "Lymphocyte", 6)[4:] == ["H", "Monocyte"]
    assert "not given" in lines


def test_absolute_flags_from_absolute_ranges(tmp_path: Path) -> None:
    ref = ReportSettings().reference.with_range("lymphocyte", ReferenceRange(18, 43, 1.0, 4.0))
    pdf = write_pdf(
        case_with(LYMPHOCYTOSIS, wbc_count=8.0), tmp_path / "r.pdf", ReportSettings(reference=ref)
    )
    assert row_after(pdf_pages(pdf)[0], "Lymphocyte", 7)[5:] == ["4.80", "H"]


def test_nrbc_estimates_review_and_short_count(tmp_path: Path) -> None:
    case = case_with(
        {"neutrophil": 6, "lymphocyte": 4, "erythroblast": 5},
        wbc_count=10.0,
        review=2,
        platelets_per_field=12,
    )
    text = " ".join(pdf_pages(write_pdf(case, tmp_path / "r.pdf"))[0])
    assert "5 50.0 per 100 WBC, 3.33 ×10 9 /L" in text  # NRBC per 100 WBC and absolute
    assert "WBC corrected for NRBC 6.67 ×10 9 /L (analyser 10.00 ×10 9 /L, 50.0 NRBC" in text
    # (NFKC folds the micro sign into a Greek mu)
    assert "≈ 180 ×10 9 /L ESTIMATE: 12.0 per field × 15,000 /\u03bcL, 2 field(s)" in text
    assert "Only 10 of the 100 white cells targeted were counted" in text
    assert text.count("PRELIMINARY: 2 cell(s) flagged for review") == 2  # banner + review
    assert "Nucleated cells classified in the fields: 15; reviewed by the technician: 0" in text


def test_header_escaping_versions_and_signatures(tmp_path: Path) -> None:
    info = CaseInfo(
        "H26-0001",
        "MRN <9>",
        "O'Brien & <Sons>",
        operator="A. Tech",
        comments="<b>not bold</b> & co\nsecond line",
    )
    case = case_with(LYMPHOCYTOSIS, info=info)
    models = (ModelStamp("detector", "2026.03.01", "a3f9c2e4b1d07788aa99"),
              ModelStamp.from_card({"name": "classifier", "version": "2026.03.02",
                                   "sha256": "77be12d09f3e4411cc00"}))  # fmt: skip
    settings = ReportSettings(
        lab=LabInfo("City Lab", "1 Road\nTown"), software=SoftwareInfo("9.9.9", models)
    )
    signed = sign_off(case, performed_by="A. Tech", reviewed_by="Dr B. Review")
    pages = pdf_pages(write_pdf(case, tmp_path / "r.pdf", settings, sign_off=signed))
    text = " ".join(pages[0])
    for expected in (
        "City Lab",
        "1 Road",
        "Town",
        "H26-0001",
        "MRN <9>",
        "O'Brien & <Sons>",
        "<b>not bold</b> & co",
        "second line",
        "Reviewed by: Dr B. Review",
        "Performed by: A. Tech",
        "detector 2026.03.01, sha256 a3f9c2e4b1d0",
        "classifier 2026.03.02, sha256 77be12d09f3e",
        "HemoScope 9.9.9",
    ):
        assert expected in text, expected
    assert "a3f9c2e4b1d07" not in text  # short hashes only


def test_unsigned_report_has_blank_reviewer_line(tmp_path: Path) -> None:
    text = " ".join(pdf_pages(write_pdf(case_with(LYMPHOCYTOSIS), tmp_path / "r.pdf"))[0])
    assert "Performed by: AB Reviewed by: ____" in text


@pytest.mark.parametrize(("size", "points"), [("A4", (595, 842)), ("Letter", (612, 792))])
def test_page_sizes(tmp_path: Path, size: str, points: tuple[int, int]) -> None:
    settings = ReportSettings(page_size=size)  # type: ignore[arg-type]
    reader = PdfReader(
        write_pdf(case_with(LYMPHOCYTOSIS, wbc_count=7.0), tmp_path / "r.pdf", settings)
    )
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == points
    assert reader.metadata is not None and reader.metadata.title == "Differential S-42"


def test_thumbnail_page(tmp_path: Path) -> None:
    case = case_with({"neutrophil": 25, "lymphocyte": 4}, wbc_count=7.0)
    settings = ReportSettings(thumbnails=True, thumbnails_per_class=20)
    plain = PdfReader(write_pdf(case, tmp_path / "a.pdf", replace(settings, thumbnails=False)))
    pdf = write_pdf(case, tmp_path / "b.pdf", settings, images=images_of(case).get)
    pages = pdf_pages(pdf)
    assert len(pages) > len(plain.pages)
    gallery = " ".join(" ".join(p) for p in pages[1:])
    assert "Cells by class — sample S-42" in gallery
    assert "Neutrophil (segmented) (25 counted, 20 shown)" in gallery
    assert "Lymphocyte (4 counted)" in gallery
    images = [img for page in PdfReader(pdf).pages[1:] for img in page.images]
    assert len(images) >= 24


def test_logo_is_embedded_and_a_bad_logo_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    logo = tmp_path / "logo.png"
    image = QImage(300, 300, QImage.Format.Format_RGB32)
    image.fill(QColor("#1565c0"))
    assert image.save(str(logo))
    case = case_with(LYMPHOCYTOSIS)
    plain = PdfReader(write_pdf(case, tmp_path / "a.pdf", ReportSettings(chart=False)))
    with_logo = PdfReader(
        write_pdf(
            case, tmp_path / "b.pdf", ReportSettings(lab=LabInfo("Lab", logo=logo), chart=False)
        )
    )
    assert len(plain.pages[0].images) == 0 and len(with_logo.pages[0].images) == 1
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    pdf = write_pdf(case, tmp_path / "c.pdf", ReportSettings(lab=LabInfo("Lab", logo=bad)))
    assert "Lab" in pdf_pages(pdf)[0] and "cannot be read" in caplog.text


def test_empty_case_still_reports(tmp_path: Path) -> None:
    case = case_with({}, info=CaseInfo("EMPTY-1"))
    lines = pdf_pages(write_pdf(case, tmp_path / "r.pdf", ReportSettings(thumbnails=True)))[0]
    assert row_after(lines, "White cells counted", 2) == ["0", "target 100"]
    assert "Only 0 of the 100 white cells targeted were counted" in " ".join(lines)


def test_chart_gives_way_to_keep_results_and_signatures_on_one_page(tmp_path: Path) -> None:
    info = CaseInfo("S-9", "P-1", "Doe", operator="AB", wbc_count=7.8,
                    comments="Mild anisocytosis.\nSmear from EDTA, 2 h old.")  # fmt: skip
    counts = {"neutrophil": 50, "lymphocyte": 25, "monocyte": 9, "eosinophil": 6,
              "basophil": 1, "ig": 3, "band": 3, "erythroblast": 4, "smudge": 2}  # fmt: skip
    case = case_with(counts, info=info)
    models = SoftwareInfo(models=(ModelStamp("detector", "1", "ab" * 32),
                                  ModelStamp("classifier", "1", "cd" * 32)))  # fmt: skip
    for size in ("A4", "Letter"):
        settings = ReportSettings(lab=LabInfo("Lab", "Street 1\nTown"), software=models,
                                  page_size=size)  # type: ignore[arg-type]  # fmt: skip
        pdf = write_pdf(case, tmp_path / f"{size}.pdf", settings)
        reader = PdfReader(pdf)
        assert len(reader.pages) == 1, size  # results, signature lines and method together
        assert "Reviewed by:" in " ".join(pdf_pages(pdf)[0])
    long = replace(info, comments="\n".join(f"Comment line {i}" for i in range(60)))
    pdf = write_pdf(replace(case, info=long), tmp_path / "long.pdf")
    assert len(PdfReader(pdf).pages) > 1
    # spills anyway: the charts stay (the differential's and the red-cell diameters')
    assert len(PdfReader(pdf).pages[0].images) == 2
