"""The cell gallery (drag to reclassify, keys, double-click) and saving through the case
database (every capture, correction, undo and redo in the store with its audit trail)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from station_fixtures import TIMEOUT_MS, Station, capture, make_station
from ui_helpers import ReportedErrors

from hemoscope.store import CaseStore
from hemoscope.ui.case.case_backend import StoreBackend
from hemoscope.ui.review.gallery import ROLE_KEY
from hemoscope.ui.settings.settings_store import SettingsStore


def test_drag_a_thumbnail_to_another_class(qtbot: QtBot, station: Station) -> None:
    win = station.window
    field_id = capture(qtbot, win)
    win.gallery_dock.raise_()
    qtbot.waitUntil(win.gallery.isVisible, timeout=TIMEOUT_MS)
    win.gallery.flush()
    source = win.gallery.sections["monocyte"]
    target = win.gallery.sections["lymphocyte"]
    assert source.count() == 1 and target.count() == 1
    item = source.item(0)
    assert item is not None
    cell_id = item.data(ROLE_KEY)[1]
    mime = source.mimeData([item])
    enter = QDragEnterEvent(
        QPoint(10, 10),
        Qt.DropAction.MoveAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target.viewport(), enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.MoveAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target.viewport(), drop)
    cell = win.workspace.field(field_id).get(cell_id)  # type: ignore[union-attr]
    assert cell is not None and cell.final_class == "lymphocyte" and not cell.pending_review
    win.gallery.flush()
    assert win.gallery.sections["monocyte"].count() == 0
    assert win.gallery.sections["lymphocyte"].count() == 2
    assert win.differential.tally.count("lymphocyte") == 2  # type: ignore[union-attr]
    # One undo step, as for a key press.
    win.window_actions.undo.trigger()
    qtbot.waitUntil(lambda: win.gallery.sections["monocyte"].count() == 1, timeout=TIMEOUT_MS)


def test_a_click_shows_the_field_a_class_key_relabels_and_the_selection_stays(
    qtbot: QtBot, station: Station
) -> None:
    win = station.window
    field_id = capture(qtbot, win)
    qtbot.keyClick(win.view, Qt.Key.Key_Space)  # back to live
    win.gallery_dock.raise_()
    qtbot.waitUntil(win.gallery.isVisible, timeout=TIMEOUT_MS)
    win.gallery.flush()
    section = win.gallery.sections["neutrophil"]
    item = section.item(0)
    assert item is not None
    cell_id = item.data(ROLE_KEY)[1]
    qtbot.waitUntil(section.isVisible, timeout=TIMEOUT_MS)
    qtbot.mouseClick(
        section.viewport(), Qt.MouseButton.LeftButton, pos=section.visualItemRect(item).center()
    )
    assert win.gallery.selected_cells() == [(field_id, cell_id)]  # only what was clicked
    # a single click shows the cell in its field; the keys stay with the gallery
    assert win.review.mode == "review"
    assert (win.review.field_id, win.review.cell_id) == (field_id, cell_id)
    assert section.hasFocus()
    qtbot.keyClick(section, Qt.Key.Key_5)  # basophil
    cell = win.workspace.field(field_id).get(cell_id)  # type: ignore[union-attr]
    assert cell is not None and cell.final_class == "basophil"
    win.gallery.flush()
    assert win.gallery.selected_cells() == [(field_id, cell_id)]  # kept after the relabel
    qtbot.keyClick(win.view, Qt.Key.Key_Escape)

    win.gallery.flush()
    basophils = win.gallery.sections["basophil"]
    shown = basophils.item(0)
    assert shown is not None
    basophils.itemDoubleClicked.emit(shown)
    assert win.review.mode == "review"
    assert (win.review.field_id, win.review.cell_id) == (field_id, cell_id)


def test_captures_and_corrections_are_saved_with_their_audit_trail(
    qtbot: QtBot, tmp_path: Path, settings_store: SettingsStore, reported: ReportedErrors
) -> None:
    backend = StoreBackend(tmp_path / "cases.db", operator="tech1")
    st = make_station(qtbot, settings_store, reported, backend=backend)
    win = st.window
    try:
        field_id = capture(qtbot, win)
        case = win.workspace.case
        assert case is not None
        assert win.differential.saved.text().startswith("saved in")
        cell_id = win.review.cell_id
        assert cell_id is not None
        qtbot.keyClick(win.view, Qt.Key.Key_2)
        qtbot.keyClick(win.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClick(win.view, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
        backend.flush()  # written on the store's thread, in order
        shown = win.workspace.case
    finally:
        win.close()  # closes the database
    with CaseStore.open(tmp_path / "cases.db") as store:  # read back with a new connection
        stored = store.load_case(case.id)
        assert stored == shown
        assert stored.fields[0].get(cell_id).final_class == "lymphocyte"  # type: ignore[union-attr]
        image = store.field_image(case.id, field_id)
        assert image is not None and image.shape == (480, 640, 3)
        trail = store.audit_trail(case.id)
    actions = [r.action for r in trail]
    assert actions[0] == "create" and "add-field" in actions
    assert actions[-3:] == ["relabel", "undo:relabel", "redo:relabel"]
    assert {r.operator for r in trail} == {"tech1"}


def test_a_failed_write_reads_the_case_back_and_says_so(
    qtbot: QtBot, tmp_path: Path, settings_store: SettingsStore, reported: ReportedErrors
) -> None:
    backend = StoreBackend(tmp_path / "cases.db", operator="tech1")
    st = make_station(qtbot, settings_store, reported, backend=backend)
    win = st.window
    try:
        field_id = capture(qtbot, win)
        cell_id = win.review.cell_id
        assert cell_id is not None
        backend.flush()
        store = backend._store
        assert store is not None

        def disk_full(*args: object, **kwargs: object) -> object:
            raise OSError("disk full")

        store.apply = disk_full  # type: ignore[method-assign]
        qtbot.keyClick(win.view, Qt.Key.Key_2)  # shown at once, then the write fails
        qtbot.waitUntil(win.notice.isVisible, timeout=TIMEOUT_MS)
        text = win.notice.text.text()
        assert "could not be saved: disk full" in text and "read back" in text
        cell = win.workspace.field(field_id).get(cell_id)  # type: ignore[union-attr]
        assert cell is not None and cell.final_class is None  # as the database has it
        assert win.cases.undo_stack.count() == 0
    finally:
        win.close()


def test_a_failed_save_is_shown_and_the_case_stays_as_shown(qtbot: QtBot, station: Station) -> None:
    win = station.window
    field_id = capture(qtbot, win)
    cell_id = win.review.cell_id
    assert cell_id is not None

    def broken(*args: object, **kwargs: object) -> object:
        raise OSError("disk full")

    win.workspace.backend.apply = broken  # type: ignore[method-assign]
    qtbot.keyClick(win.view, Qt.Key.Key_2)
    assert win.notice.isVisible() and "disk full" in win.notice.text.text()
    cell = win.workspace.field(field_id).get(cell_id)  # type: ignore[union-attr]
    assert cell is not None and cell.final_class is None
    assert win.cases.undo_stack.count() == 1  # only the capture
    qtbot.waitUntil(lambda: True, timeout=TIMEOUT_MS)


def test_several_cells_relabelled_are_one_undo_step_and_the_tools_filter_and_resize(
    qtbot: QtBot, station: Station
) -> None:
    win = station.window
    field_id = capture(qtbot, win)
    qtbot.keyClick(win.view, Qt.Key.Key_Escape)
    win.gallery_dock.raise_()
    qtbot.waitUntil(win.gallery.isVisible, timeout=TIMEOUT_MS)
    win.gallery.flush()
    sections = win.gallery.sections
    neutrophils, lymphocytes = sections["neutrophil"], sections["lymphocyte"]
    qtbot.waitUntil(lymphocytes.isVisible, timeout=TIMEOUT_MS)
    first, second = neutrophils.item(0), lymphocytes.item(0)
    qtbot.mouseClick(neutrophils.viewport(), Qt.MouseButton.LeftButton,
                     pos=neutrophils.visualItemRect(first).center())  # fmt: skip
    qtbot.mouseClick(lymphocytes.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.ControlModifier,
                     pos=lymphocytes.visualItemRect(second).center())  # fmt: skip
    assert len(win.gallery.selected_cells()) == 2
    qtbot.keyClick(lymphocytes, Qt.Key.Key_4)  # eosinophil, both
    assert win.differential.tally.count("eosinophil") == 2  # type: ignore[union-attr]
    assert len(win.gallery.selected_cells()) == 2  # still selected, now as eosinophils
    assert win.cases.undo_stack.undoText() == "Label 2 cells as Eosinophil"
    win.window_actions.undo.trigger()
    assert win.differential.tally.count("eosinophil") == 0  # type: ignore[union-attr]

    win.gallery.flagged_only.setChecked(True)  # the monocyte (41 %) is the flagged one
    win.gallery.flush()
    shown = {c: s.count() for c, s in win.gallery.sections.items() if s.count()}
    assert shown == {"monocyte": 1}
    win.gallery.size_slider.setValue(140)
    win.gallery.flush()
    monocytes = win.gallery.sections["monocyte"]
    assert monocytes.iconSize().width() == 140 and monocytes.height() >= 140
    assert win.workspace.field(field_id) is not None
