"""The report and exports fed from the case store, as the window and the CLI wire them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from case_session import CaseSession
from pypdf import PdfReader
from report_factories import case_with, images_of
from report_pdf_text import pdf_pages

from hemoscope.core import Relabel
from hemoscope.report import (
    PendingReviewError,
    ReportSettings,
    confirm_pending,
    export_yolo,
    report_content,
    sign_off,
    standing_decisions,
    write_cells_csv,
    write_pdf,
)
from hemoscope.store import CaseStore


def test_stored_case_to_signed_report_and_exports(tmp_path: Path) -> None:
    source = case_with({"neutrophil": 12, "lymphocyte": 8}, wbc_count=6.5, review=3)
    images = images_of(source)
    with CaseStore.open(tmp_path / "cases.db") as store:
        s = CaseSession.new(store, source.info)
        for fld in source.fields:
            s.add_field(fld, images[fld.id])
        f0 = s.case.fields[0].id
        s.operator = "CD"
        s.do(Relabel(f0, "w4", "band"))
        with pytest.raises(PendingReviewError):
            sign_off(s.case, performed_by="AB", reviewed_by="CD")
        for command in confirm_pending(s.case):  # each confirmation saved and audited
            s.do(command)
        signed = sign_off(s.case, performed_by="AB", reviewed_by="CD")
        s.sign_off(performed_by=signed.performed_by, reviewed_by=signed.reviewed_by)

        case = store.load_case(s.case.id)
        provider = store.image_provider(case.id)
        pdf = write_pdf(case, tmp_path / "r.pdf", ReportSettings(thumbnails=True),
                        images=provider, sign_off=signed)  # fmt: skip
        decisions = standing_decisions(store.audit_trail(case.id))
        cells = write_cells_csv(tmp_path / "cells.csv", report_content(case), decisions)
        yolo = export_yolo(case, provider, tmp_path / "yolo")

    text = " ".join(pdf_pages(pdf)[0])
    assert "Reviewed by: CD" in text and "PRELIMINARY" not in text
    assert "reviewed by the technician: 4; corrected: 1" in text
    assert len(PdfReader(pdf).pages) >= 2  # the gallery from the stored images
    rows = list(csv.DictReader(io.StringIO(cells.read_text(encoding="utf-8-sig"))))
    by_id = {r["cell_id"]: r for r in rows}
    assert (by_id["w4"]["final_class"], by_id["w4"]["corrected_by"]) == ("band", "CD")
    assert by_id["w0"]["corrected_by"] == "CD" and by_id["w0"]["final_class"] == "neutrophil"
    assert by_id["w5"]["corrected_by"] == ""
    assert yolo.fields == len(source.fields)
