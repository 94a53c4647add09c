"""The Case and Report menus on the real window: new case with its request form, the case
list, sign-off (refused while cells await review) and its lock, reopen with a reason, and
the report and data exports with their failure messages."""

from __future__ import annotations

import csv
import gc
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPageSize, QPdfWriter
from PySide6.QtWidgets import QDialogButtonBox, QLabel, QMessageBox
from pytestqt.qtbot import QtBot
from station_fixtures import TIMEOUT_MS, Station, capture, make_station
from ui_helpers import ReportedErrors

from hemoscope.core import CaseInfo
from hemoscope.store import CaseStore
from hemoscope.ui.case.case_backend import StoreBackend
from hemoscope.ui.case.case_dialog import CaseInfoDialog
from hemoscope.ui.case.case_list import CaseListDialog
from hemoscope.ui.case.signoff_dialog import SignOffDialog
from hemoscope.ui.main_window import MainWindow
from hemoscope.ui.settings.settings_store import SettingsStore


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    return " ".join(text.split())


class Answers:
    """What the window's save and folder questions get: a queue of paths."""

    def __init__(self) -> None:
        self.paths: list[Path | None] = []
        self.asked: list[str] = []

    def save(self, title: str, suggested: Path, filters: str) -> Path | None:
        self.asked.append(f"{title} [{suggested.name}]")
        return self.paths.pop(0)

    def folder(self, title: str, suggested: Path) -> Path | None:
        self.asked.append(title)
        return self.paths.pop(0)


@pytest.fixture
def answers() -> Answers:
    return Answers()


@pytest.fixture
def stored(
    qtbot: QtBot,
    tmp_path: Path,
    settings_store: SettingsStore,
    reported: ReportedErrors,
    answers: Answers,
) -> Iterator[Station]:
    backend = StoreBackend(tmp_path / "cases.db", operator="tech1")
    st = make_station(
        qtbot, settings_store, reported, backend=backend,
        ask_save=answers.save, ask_folder=answers.folder,
    )  # fmt: skip
    yield st
    st.window.close()


def fill_case_dialog(qtbot: QtBot, win: MainWindow, info: CaseInfo) -> None:
    dialog = win.case_actions.dialog
    assert isinstance(dialog, CaseInfoDialog) and dialog.isVisible()
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.sample_id.clear()
    assert not ok.isEnabled()  # the sample id is required
    qtbot.keyClicks(dialog.sample_id, info.sample_id)
    dialog.patient_id.setText(info.patient_id)
    dialog.operator.setText(info.operator)
    dialog.wbc.setText("" if info.wbc_count is None else str(info.wbc_count))
    assert ok.isEnabled()
    ok.click()
    win.activateWindow()  # where the dialog gives the keyboard back
    qtbot.waitUntil(win.isActiveWindow, timeout=TIMEOUT_MS)


def new_case(qtbot: QtBot, win: MainWindow, info: CaseInfo) -> None:
    win.window_actions.new_case.trigger()
    fill_case_dialog(qtbot, win, info)
    case = win.workspace.case
    assert case is not None and case.info.sample_id == info.sample_id


def test_new_case_takes_the_request_form(qtbot: QtBot, stored: Station) -> None:
    win = stored.window
    win.window_actions.new_case.trigger()
    dialog = win.case_actions.dialog
    assert isinstance(dialog, CaseInfoDialog)
    qtbot.keyClicks(dialog.wbc, "abc")  # not a number: the validator refuses it
    assert dialog.wbc.text() == ""
    fill_case_dialog(qtbot, win, CaseInfo("S-100", patient_id="P-7", operator="Ann",
                                          wbc_count=7.5))  # fmt: skip
    info = win.workspace.case.info  # type: ignore[union-attr]
    assert (info.patient_id, info.operator, info.wbc_count) == ("P-7", "Ann", 7.5)
    assert win.windowTitle().startswith("S-100")
    assert win.differential.sample_id.text() == "S-100"


def test_case_list_searches_and_reopens_a_saved_case(qtbot: QtBot, stored: Station) -> None:
    win = stored.window
    new_case(qtbot, win, CaseInfo("A-1", patient_id="P-1"))
    first = capture(qtbot, win)
    qtbot.keyClick(win.view, Qt.Key.Key_Space)  # back to live
    new_case(qtbot, win, CaseInfo("B-2", patient_id="P-2"))
    capture(qtbot, win)
    assert win.workspace.case.info.sample_id == "B-2"  # type: ignore[union-attr]

    win.window_actions.close_case.trigger()
    assert win.workspace.case is None and win.differential.sample_id.text() == ""
    assert not win.window_actions.close_case.isEnabled()  # nothing left to close
    win.window_actions.open_case.trigger()
    dialog = win.case_actions.dialog
    assert isinstance(dialog, CaseListDialog)
    assert dialog.table.rowCount() == 2
    assert dialog.table.item(0, 0).text() == "B-2"  # newest first
    assert dialog.table.item(0, 6).text() == "open"  # not signed off
    qtbot.keyClicks(dialog.search, "p-1")  # patient ids too, any case
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=TIMEOUT_MS)
    assert dialog.table.item(0, 0).text() == "A-1"
    qtbot.keyClick(dialog.search, Qt.Key.Key_Return)
    case = win.workspace.case
    assert case is not None and case.info.sample_id == "A-1"
    assert [f.id for f in case.fields] == [first]
    assert win.cases.undo_stack.count() == 0  # a fresh history for the opened case
    assert win.workspace.field_image(first) is not None  # its image, from the store
    assert "Opened A-1" in win.statusBar().currentMessage()


def test_sign_off_waits_for_review_then_locks_until_reopened(
    qtbot: QtBot, stored: Station, tmp_path: Path
) -> None:
    win = stored.window
    field_id = capture(qtbot, win)  # a provisional case: no sample id typed yet
    qtbot.keyClick(win.view, Qt.Key.Key_Space)

    win.window_actions.sign_off.trigger()  # first the sample id
    fill_case_dialog(qtbot, win, CaseInfo("S-9", operator="Ann"))
    box = win.case_actions.dialog  # then: one flagged cell awaits review
    assert isinstance(box, QMessageBox) and "1 cell(s) flagged" in box.text()
    assert "not confirmed (low confidence 1)." in box.text()  # and why
    confirm = next(b for b in box.buttons() if b.text().startswith("Confirm 1"))
    confirm.click()
    dialog = win.case_actions.dialog  # and now the sign-off itself
    assert isinstance(dialog, SignOffDialog)
    assert dialog.performed_by.text() == "Ann"
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()  # the reviewer is required
    qtbot.keyClicks(dialog.reviewed_by, "Dr Bo")
    # 3 of 100 white cells: it says so plainly, and signs off only when told to
    shortfall = dialog.findChild(QLabel, "signOffShortfall")
    assert shortfall is not None and shortfall.isVisible()
    assert "Below the target: 3 of 100 white cells counted" in shortfall.text()
    assert "95 % interval" in shortfall.text()
    assert not ok.isEnabled()
    dialog.below_target.setChecked(True)
    ok.click()
    assert win.workspace.locked
    assert "Signed off by Dr Bo" in win.differential.saved.text()
    assert not win.window_actions.sign_off.isEnabled() and win.window_actions.reopen.isEnabled()

    # locked: a relabel is refused, and says why
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=TIMEOUT_MS)
    first_cell = win.workspace.field(field_id).cells[0]  # type: ignore[union-attr]
    win.review.review_field(field_id, first_cell.id)
    before = win.workspace.case
    qtbot.keyClick(win.view, Qt.Key.Key_5)
    assert win.workspace.case == before
    assert "signed off" in win.notice.text.text()

    win.window_actions.reopen.trigger()
    win.case_actions.dialog.textValueSelected.emit("wrong cell count")  # type: ignore[union-attr]
    assert not win.workspace.locked
    case = win.workspace.case
    assert case is not None
    win.workspace.backend.flush()
    win.close()
    with CaseStore.open(tmp_path / "cases.db") as store:
        trail = store.audit_trail(case.id)
        actions = [r.action for r in trail]
        assert store.sign_off_of(case.id) is None
    signed = next(r for r in trail if r.action == "sign-off")
    assert "below the target, confirmed: Below the target: 3 of 100" in signed.detail
    assert actions.count("confirm") == 1
    assert actions[-2:] == ["sign-off", "reopen"]


def test_report_pdf_csv_json_and_retraining_exports(
    qtbot: QtBot, stored: Station, answers: Answers, tmp_path: Path
) -> None:
    win = stored.window
    settings = win.settings
    win.apply_settings(type(settings)(**{**settings.__dict__, "lab_name": "Haematology Lab 3"}))
    new_case(qtbot, win, CaseInfo("R-42", patient_id="P-42", wbc_count=6.0))
    capture(qtbot, win)
    qtbot.keyClick(win.view, Qt.Key.Key_2)  # relabel the selected cell as lymphocyte
    out = tmp_path / "out"
    out.mkdir()
    answers.paths = [out / "r42", out / "cells.csv", out / "case.json", out / "retrain"]

    pdf = win.report_actions.export_pdf()
    assert pdf == out / "r42.pdf"  # the suffix is added
    assert answers.asked[0].endswith("[R-42.pdf]")  # the sample id suggests the name
    text = pdf_text(pdf)
    assert "Haematology Lab 3" in text and "R-42" in text and "fake-detector" in text

    assert win.report_actions.export_csv() == out / "cells.csv"
    with (out / "cells.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 7  # 3 WBC, 3 RBC, 1 platelet
    assert (out / "cells-summary.csv").is_file()
    assert win.report_actions.export_json() == out / "case.json"
    data = json.loads((out / "case.json").read_text())
    corrected = [c for c in data["cells"] if c.get("corrected_by")]
    assert [c["corrected_by"] for c in corrected] == ["tech1"]

    (out / "retrain").mkdir()
    assert win.report_actions.export_retraining() == out / "retrain"
    assert len(list((out / "retrain" / "cells").rglob("*.png"))) == 1
    assert len(list((out / "retrain" / "fields" / "images").glob("*.png"))) == 1

    preview = win.report_actions.print_preview()
    assert preview is not None
    gc.collect()  # the preview's pages live in its printer: it must outlive this call
    qtbot.waitExposed(preview)
    preview.grab()  # paints the pages
    preview.close()

    writer = QPdfWriter(str(tmp_path / "printed.pdf"))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    assert win.report_actions.render(writer) >= 1  # what the print preview paints


def test_an_unwritable_target_says_so_and_keeps_the_case(
    qtbot: QtBot, stored: Station, answers: Answers, tmp_path: Path
) -> None:
    win = stored.window
    capture(qtbot, win)
    before = win.workspace.case
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("x")
    answers.paths = [tmp_path / "missing" / "report.pdf", not_a_folder / "cells.csv"]
    assert win.report_actions.export_pdf() is None
    assert "The report could not be written" in win.notice.text.text()
    assert win.report_actions.export_csv() is None
    assert "The CSV files could not be written" in win.notice.text.text()
    assert "The case is unchanged" in win.notice.text.text()
    assert win.workspace.case == before
    assert not_a_folder.read_text() == "x"


def test_an_empty_case_has_nothing_to_report_or_sign(qtbot: QtBot, stored: Station) -> None:
    win = stored.window
    assert win.report_actions.export_pdf() is None
    assert "the case is empty" in win.notice.text.text()
    win.window_actions.sign_off.trigger()
    assert "Nothing to sign off" in win.notice.text.text()
