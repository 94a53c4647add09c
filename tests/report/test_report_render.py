"""Rendering: onto a QPrinter (print and preview), to PNG, headless, and the bar chart."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtPrintSupport import QPrinter
from report_factories import case_with
from report_pdf_text import pdf_pages, row_after

from hemoscope.core import DEFAULT_REFERENCE, DEFAULT_TAXONOMY, Tally
from hemoscope.report import build_report, print_report
from hemoscope.report.chart import differential_chart

ROOT = Path(__file__).resolve().parents[2]
COUNTS = {"neutrophil": 55, "lymphocyte": 30, "monocyte": 8, "eosinophil": 6, "basophil": 1}


def test_printer_gets_the_same_report(tmp_path: Path) -> None:
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    pages = print_report(case_with(COUNTS, wbc_count=6.0), printer, set_page=True)
    assert pages == 1
    lines = pdf_pages(tmp_path / "printed.pdf")[0]
    assert row_after(lines, "Neutrophil (segmented)", 6)[:2] == ["55", "55.0"]
    assert "Page 1 of 1" in lines


def test_one_document_renders_again_for_a_preview(tmp_path: Path) -> None:
    report = build_report(case_with(COUNTS))
    for name in ("first.pdf", "second.pdf"):  # a preview repaints the same document
        printer = QPrinter()
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(tmp_path / name))
        assert report.render(printer) == 1
    assert pdf_pages(tmp_path / "first.pdf") == pdf_pages(tmp_path / "second.pdf")


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler) not installed")
def test_page_renders_to_png(tmp_path: Path) -> None:
    from hemoscope.report import write_pdf

    pdf = write_pdf(case_with(COUNTS, wbc_count=6.0), tmp_path / "r.pdf")
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "page")], check=True, timeout=60)  # fmt: skip
    (png,) = tmp_path.glob("page*.png")
    image = QImage(str(png))
    assert abs(image.height() / image.width() - 297 / 210) < 0.01
    ink = sum(
        QColor(image.pixel(x, y)).lightness() < 128
        for x in range(0, image.width(), 3)
        for y in range(0, image.height(), 3)
    )
    assert ink > 500  # text, table lines and chart, not a blank page


def test_chart_draws_each_class_in_its_colour() -> None:
    tally = Tally.from_case(case_with(COUNTS))
    rows = [r for r in tally.rows if r.in_differential]
    image = differential_chart(rows, DEFAULT_TAXONOMY, DEFAULT_REFERENCE, width=1000)
    assert image.width() == 1000 and image.height() > 48 * len(rows)
    argb = np.frombuffer(image.constBits(), np.uint32).reshape(image.height(), -1)
    colours = set(np.unique(argb[:, : image.width()] & 0xFFFFFF).tolist())
    for class_id in ("neutrophil", "lymphocyte", "monocyte", "eosinophil"):
        assert int(DEFAULT_TAXONOMY[class_id].colour[1:], 16) in colours, class_id


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="offscreen fallback is Linux")
def test_headless_pdf_without_display_or_application(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "sys.path.insert(0, sys.argv[2])\n"
        "from report_factories import case_with\n"
        "from hemoscope.report import write_pdf\n"
        "write_pdf(case_with({'lymphocyte': 40, 'neutrophil': 60}), sys.argv[1])\n"
        "import os\n"
        "assert os.environ['QT_QPA_PLATFORM'] == 'offscreen'\n"
        "assert 'PySide6.QtWidgets' not in sys.modules, 'report loaded QtWidgets'\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["PYTHONPATH"] = str(ROOT)
    out = tmp_path / "headless.pdf"
    done = subprocess.run(
        [sys.executable, "-c", script, str(out), str(Path(__file__).parent)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert row_after(pdf_pages(out)[0], "Lymphocyte", 2) == ["40", "40.0"]
