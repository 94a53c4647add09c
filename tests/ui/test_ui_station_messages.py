"""Messages that say what is true now (issue #16, point 5): the target banner follows the
count past the target, a problem banner goes with the case it was about, and a signed-off
case offers a new case instead of "Space captures"."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot
from station_fixtures import TIMEOUT_MS, Station, capture, open_two_images
from ui_helpers import make_field

from hemoscope.core import CaseInfo
from hemoscope.ui.review.review import LOCKED_CAPTION


def test_the_target_banner_follows_the_count_past_the_target(
    qtbot: QtBot, station: Station
) -> None:
    win = station.window
    win.differential.target.setCurrentText("Custom…")
    win.differential.custom.setValue(3)
    capture(qtbot, win)  # three white cells: the target
    assert win.differential.reached.isVisible()
    assert "Target reached: 3 white cells counted." in win.differential.reached.text()
    qtbot.keyClick(win.view, Qt.Key.Key_Escape)
    capture(qtbot, win)  # three more
    assert "3 white cells counted, 3 over" in win.differential.reached.text()
    assert win.differential.progress.format() == "6 / 3 WBC: 3 over the target"


def test_a_problem_banner_goes_with_its_case(qtbot: QtBot, station: Station) -> None:
    win = station.window
    capture(qtbot, win)
    win.presenter.case_error("Capture failed: the disk is full")
    assert win.notice.isVisible()
    win.case_actions.close_case()
    assert not win.notice.isVisible()


def test_a_signed_off_case_offers_a_new_case_instead_of_a_capture(
    qtbot: QtBot, station: Station
) -> None:
    win = station.window
    field_id = capture(qtbot, win)
    field = win.workspace.field(field_id)
    assert field is not None
    win.cases.confirm_all([(field_id, c.id) for c in field.cells if c.pending_review])
    win.cases.set_info(CaseInfo("S-1"))
    win.cases.sign_off(performed_by="tech", reviewed_by="Dr B")
    qtbot.keyClick(win.view, Qt.Key.Key_Escape)
    assert win.review.mode == "live" and win.view.caption == LOCKED_CAPTION
    qtbot.keyClick(win.view, Qt.Key.Key_Space)
    assert "signed off: Ctrl+N starts a new case" in win.statusBar().currentMessage()
    assert len(win.workspace.case.fields) == 1  # type: ignore[union-attr]
    assert not win.notice.isVisible()  # no error: nothing was tried


def test_the_station_fits_a_1366_pixel_screen_with_the_image_list(
    qtbot: QtBot, station: Station, tmp_path: Path
) -> None:
    win = station.window
    paths = [tmp_path / f"{'long-file-name-' * 6}{i}.png" for i in range(2)]
    for path in paths:
        make_field(path, 640, 480)
    with qtbot.waitSignal(win.load_finished, timeout=TIMEOUT_MS):
        win.open_paths(paths)
    win.status.show_models("Models: " + ", ".join(["a-long-model-name 2026.11.22.2"] * 6))
    win.status.show_source("Image: " + paths[0].name)
    assert win.images_dock.isVisible()
    assert win.minimumSizeHint().width() <= 1366
    assert win.status.models_label.sizeHint().width() <= 200  # the messages keep room


def test_the_caption_has_a_band_of_its_own_above_the_picture(
    qtbot: QtBot, station: Station
) -> None:
    win = station.window
    capture(qtbot, win)
    bar = win.view.findChild(QLabel, "stationCaption")
    assert bar is not None and bar.isVisible() and bar.text().startswith("REVIEW")
    assert bar.geometry().bottom() < win.view.viewport().geometry().top()  # labels stay seen


def test_the_image_list_and_status_point_at_the_image_under_review(
    qtbot: QtBot, station: Station, tmp_path: Path
) -> None:
    win = station.window
    open_two_images(qtbot, win, tmp_path)
    first = capture(qtbot, win)  # a.png
    qtbot.keyClick(win.view, Qt.Key.Key_Escape)
    with qtbot.waitSignal(win.image_shown, timeout=TIMEOUT_MS):
        qtbot.keyClick(win.view, Qt.Key.Key_PageDown)  # b.png, live
    win.review.review_field(first)  # back to the field of a.png (e.g. from the gallery)
    assert win.strip.currentRow() == 0 and win.status.file_label.text() == "a.png"
    qtbot.keyClick(win.view, Qt.Key.Key_Escape)  # live again: b.png
    assert win.strip.currentRow() == 1 and win.status.file_label.text() == "b.png"
