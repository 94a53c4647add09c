"""``hemoscope analyze --pdf``: the differential report written headless."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from analyze_testing import Runner

pypdf = pytest.importorskip("pypdf")


@pytest.mark.usefixtures("qapp")  # the report must not create a bare QGuiApplication
def test_pdf_report_of_the_whole_run(run_analyze: Runner, field_folder: Path) -> None:
    # In a test session the QApplication of pytest-qt must exist first: a bare
    # QGuiApplication made by the report would stop later widget tests from running.
    out = field_folder.parent
    pdf, js = out / "report.pdf", out / "r.json"
    res = run_analyze(field_folder, "--pdf", pdf, "--json", js, "--target", "5")
    assert res.code == 0, res.err
    pages = pypdf.PdfReader(str(pdf)).pages
    text = " ".join(" ".join(page.extract_text() for page in pages).split())
    assert "White cell differential" in text
    assert "Fields captured 3" in text
    doc = json.loads(js.read_text(encoding="utf-8"))
    assert f"White cells counted {doc['differential']['total']}" in text
    models = {m["name"] for m in doc["models"].values()}
    assert all(name in text for name in models if name)


def test_pdf_into_a_missing_folder_is_refused_before_any_work(
    run_analyze: Runner, field_folder: Path, tmp_path: Path
) -> None:
    res = run_analyze(field_folder, "--pdf", tmp_path / "nowhere" / "r.pdf")
    assert res.code == 1 and "does not exist" in res.err
