"""The finer manual classes on the report: listed when counted, the IG stages each on a
row of their own and in an immature granulocyte total, in the PDF and the summary."""

from __future__ import annotations

from pathlib import Path

from report_factories import case_with
from report_pdf_text import pdf_pages, row_after

from hemoscope.report import report_content, write_pdf
from hemoscope.report.tables import summary_rows

COUNTS = {
    "neutrophil": 50, "lymphocyte": 25, "monocyte": 8, "eosinophil": 4, "basophil": 1,
    "ig": 2, "promyelocyte": 1, "myelocyte": 4, "metamyelocyte": 3, "plasma_cell": 2,
}  # fmt: skip


def test_the_report_lists_counted_finer_classes_and_the_ig_total(tmp_path: Path) -> None:
    content = report_content(case_with(COUNTS))
    table = [(r.display_name, r.count, total) for r, total in content.differential_table]
    names = [name for name, _, _ in table]
    # counted finer classes are listed, the others (reactive lymphocyte) are not
    assert "Plasma cell" in names and "Reactive / variant lymphocyte" not in names
    stages = ["Promyelocyte", "Myelocyte", "Metamyelocyte"]
    i = names.index("Metamyelocyte")
    assert names[i - 2 : i + 1] == stages
    assert table[i + 1] == ("Immature granulocyte, total", 10, True)  # 2 + 1 + 4 + 3
    assert content.tally.denominator == 100
    ig_total = content.tally.subtotal("ig")
    assert ig_total is not None and ig_total.percent == 10.0
    assert content.tally.row("ig").count == 2  # IG not staged stays a row of its own

    pdf = write_pdf(case_with(COUNTS), tmp_path / "r.pdf")
    lines = [line for page in pdf_pages(pdf) for line in page]
    assert row_after(lines, "Myelocyte", 2) == ["4", "4.0"]
    assert row_after(lines, "Immature granulocyte, total", 2) == ["10", "10.0"]
    assert row_after(lines, "Plasma cell", 2) == ["2", "2.0"]
    assert "Promyelocyte" in lines and "Reactive / variant lymphocyte" not in lines

    rows = {r["class_id"]: r for r in summary_rows(content)}
    assert rows["ig_total"]["count"] == 10 and rows["ig_total"]["percent"] == 10.0
    assert rows["myelocyte"]["count"] == 4 and rows["ig"]["count"] == 2
    assert rows["wbc_total"]["count"] == 100


def test_a_report_without_finer_classes_lists_none_of_them() -> None:
    content = report_content(case_with({"neutrophil": 60, "lymphocyte": 40}))
    names = {r.display_name for r, _ in content.differential_table}
    assert "Immature granulocyte" in names and "Blast" in names  # always listed
    assert not names & {"Promyelocyte", "Myelocyte", "Metamyelocyte", "Plasma cell"}
    assert not any(total for _, total in content.differential_table)
    assert content.tally.subtotals == ()
