"""The real station window on a fake microscope: live view, capture, review by keyboard and
mouse, undo/redo, the target alert, manual count mode."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot
from station_fixtures import TIMEOUT_MS, Station, capture, click_cell, view_point, wait_live

from hemoscope.core import CellKind


def test_live_picture_with_overlay_inferred_off_the_gui_thread(
    qtbot: QtBot, station: Station
) -> None:
    win = station.window
    wait_live(qtbot, win)
    assert win.view.has_image()
    assert win.review.mode == "live"
    field = win.view.overlay.field
    assert field is not None and field.n_wbc == 3
    assert station.pipeline.calls >= 1
    assert threading.main_thread().name not in station.pipeline.threads
    qtbot.waitUntil(lambda: win.live.shown_count >= 5, timeout=TIMEOUT_MS)
    status = win.status
    qtbot.waitUntil(lambda: "FPS" in status.fps_label.text(), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: status.inference_label.text().startswith("AI "), timeout=TIMEOUT_MS)
    assert "Fake microscope" in status.source_label.text()
    assert "fake-detector 1" in status.models_label.text()


def test_slow_models_see_only_the_newest_frames(
    qtbot: QtBot, station: Station, settings_store: object
) -> None:
    win = station.window
    station.pipeline.delay_s = 0.15  # slower than the 30 FPS source
    qtbot.waitUntil(lambda: win.worker.dropped >= 5, timeout=TIMEOUT_MS)
    # Frames came faster than the models: most were never analysed.
    assert station.pipeline.calls < station.source.frames / 2
    assert win.live.shown_count > station.pipeline.calls


def test_space_captures_the_field_and_shows_it_for_review(qtbot: QtBot, station: Station) -> None:
    win = station.window
    field_id = capture(qtbot, win)
    case = win.workspace.case
    assert case is not None and [f.id for f in case.fields] == [field_id]
    assert case.fields[0].n_wbc == 3
    assert win.review.mode == "review" and win.review.field_id == field_id
    assert win.view.caption.startswith("REVIEW")
    # The flagged monocyte (41 %) is selected first.
    selected = case.fields[0].get(win.review.cell_id or "")
    assert selected is not None and selected.pending_review
    assert win.differential.tally is not None and win.differential.tally.denominator == 3
    win.gallery.flush()  # the gallery redraws on the next turn of the event loop
    assert win.gallery.sections["neutrophil"].count() == 1
    # Space again: back to live; nothing more captured.
    qtbot.keyClick(win.view, Qt.Key.Key_Space)
    assert win.review.mode == "live"
    assert len(win.workspace.case.fields) == 1  # type: ignore[union-attr]


def test_click_then_key_relabels_and_undo_redo(qtbot: QtBot, station: Station) -> None:
    win = station.window
    field_id = capture(qtbot, win)
    field = win.workspace.field(field_id)
    assert field is not None
    neutrophil = next(c for c in field.cells if c.auto_class == "neutrophil")
    click_cell(qtbot, win, neutrophil)
    assert win.review.cell_id == neutrophil.id

    qtbot.keyClick(win.view, Qt.Key.Key_4)  # eosinophil
    relabelled = win.workspace.field(field_id).get(neutrophil.id)  # type: ignore[union-attr]
    assert relabelled is not None and relabelled.final_class == "eosinophil"
    tally = win.differential.tally
    assert tally is not None and tally.count("eosinophil") == 1 and tally.count("neutrophil") == 0
    win.gallery.flush()
    assert win.gallery.sections["eosinophil"].count() == 1

    qtbot.keyClick(win.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    undone = win.workspace.field(field_id).get(neutrophil.id)  # type: ignore[union-attr]
    assert undone is not None and undone.final_class is None
    assert win.differential.tally.count("neutrophil") == 1  # type: ignore[union-attr]

    redo = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(win.view, Qt.Key.Key_Z, redo)
    again = win.workspace.field(field_id).get(neutrophil.id)  # type: ignore[union-attr]
    assert again is not None and again.final_class == "eosinophil"


def test_delete_removes_a_false_detection_and_tab_walks_flagged_cells(
    qtbot: QtBot, station: Station
) -> None:
    win = station.window
    field_id = capture(qtbot, win)
    flagged = win.review.cell_id
    assert flagged is not None
    qtbot.keyClick(win.view, Qt.Key.Key_Delete)
    field = win.workspace.field(field_id)
    assert field is not None and field.get(flagged) is None and field.n_wbc == 2
    assert win.differential.tally.denominator == 2  # type: ignore[union-attr]
    # Arrow keys move between the remaining white cells.
    qtbot.keyClick(win.view, Qt.Key.Key_Left)
    assert win.review.cell_id in {c.id for c in field.cells if c.kind is CellKind.WBC}
    # Nothing left to review; undo brings the deleted cell (and its flag) back.
    qtbot.keyClick(win.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert win.workspace.field(field_id).get(flagged) is not None  # type: ignore[union-attr]
    qtbot.keyClick(win.view, Qt.Key.Key_Tab)
    assert win.review.cell_id == flagged


def test_drag_draws_a_missed_cell_and_asks_its_class(qtbot: QtBot, station: Station) -> None:
    win = station.window
    field_id = capture(qtbot, win)
    viewport = win.view.viewport()
    start, end = view_point(win, 400, 20), view_point(win, 460, 70)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewport, pos=end)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    assert len(station.asked) == 1
    field = win.workspace.field(field_id)
    assert field is not None
    added = [c for c in field.cells if c.manual]
    assert len(added) == 1
    assert added[0].final_class == "eosinophil" and added[0].kind is CellKind.WBC
    assert 395 <= added[0].box.x1 <= 405 and 65 <= added[0].box.y2 <= 75
    assert win.review.cell_id == added[0].id
    assert win.differential.tally.count("eosinophil") == 1  # type: ignore[union-attr]


def test_target_alert_once_when_reached_and_again_after_undo(
    qtbot: QtBot, station: Station
) -> None:
    win = station.window
    win.differential.target.setCurrentText("Custom…")
    win.differential.custom.setValue(5)
    assert win.workspace.target == 5
    capture(qtbot, win)
    qtbot.keyClick(win.view, Qt.Key.Key_Space)  # back to live
    with qtbot.waitSignal(win.target_alert, timeout=TIMEOUT_MS) as alert:
        capture(qtbot, win)
    assert alert.args[0].denominator == 6
    assert station.beeps == [1]
    assert win.differential.reached.isVisible()
    assert win.differential.progress.property("reached") is True

    qtbot.keyClick(win.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # un-capture
    assert win.review.mode == "live" and win.differential.tally.denominator == 3  # type: ignore[union-attr]
    assert not win.differential.reached.isVisible()
    capture(qtbot, win)
    assert station.beeps == [1, 1]


def test_manual_count_mode_counts_keys_into_the_same_case(qtbot: QtBot, station: Station) -> None:
    win = station.window
    capture(qtbot, win)  # 1 neutrophil, 1 lymphocyte, 1 monocyte from the field
    qtbot.keyClick(win.view, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert win.review.mode == "manual"
    assert win.stack.currentWidget() is win.manual
    for key in (Qt.Key.Key_1, Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_9):
        qtbot.keyClick(win.manual, key)
    case = win.workspace.case
    assert case is not None
    assert dict(case.manual) == {"neutrophil": 2, "lymphocyte": 1, "erythroblast": 1}
    tally = win.differential.tally
    assert tally is not None and tally.denominator == 6  # NRBC is not a white cell
    assert tally.count("neutrophil") == 3
    assert tally.nrbc_per_100 is not None
    assert win.manual.tiles["neutrophil"].count.text() == "2"

    qtbot.keyClick(win.manual, Qt.Key.Key_Backspace)  # the last count was a slip
    assert dict(win.workspace.case.manual) == {"neutrophil": 2, "lymphocyte": 1}  # type: ignore[union-attr]
    qtbot.keyClick(win.manual, Qt.Key.Key_Escape)
    assert win.review.mode == "live" and win.stack.currentWidget() is win.view


def test_class_keys_do_not_steal_typing_in_the_sample_field(qtbot: QtBot, station: Station) -> None:
    win = station.window
    capture(qtbot, win)
    edit = win.differential.sample_id
    edit.setFocus()
    edit.clear()
    qtbot.keyClicks(edit, "S-12 3")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    box = win.case_actions.dialog  # the case has cells: renaming it is asked
    assert isinstance(box, QMessageBox) and "S-12 3" in box.text()
    next(b for b in box.buttons() if b.text() == "Rename").click()
    assert win.workspace.case is not None and win.workspace.case.info.sample_id == "S-12 3"
    assert win.workspace.case.manual.total() == 0
    assert "S-12 3" in win.windowTitle()
