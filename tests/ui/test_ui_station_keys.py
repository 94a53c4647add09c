"""Keys that do what the legend says (issue #16, points 3 and 4): no key types into a
form field the technician did not click into, renaming a case with cells is asked,
sign-off below the target (tests/ui/test_ui_case_report.py), no ambiguous shortcut; a
class key relabels and moves on, Space then captures the next field, PgDn goes to the
next image while reviewing, manual counting stops at the target."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot
from station_fixtures import TIMEOUT_MS, Station, capture, make_station, open_two_images, view_point
from ui_fakes import FakePipeline
from ui_helpers import ReportedErrors

from hemoscope.core import Field
from hemoscope.ui.actions import _action
from hemoscope.ui.review.class_menu import ClassMenu
from hemoscope.ui.review.review_model import reading_order
from hemoscope.ui.settings.settings_store import SettingsStore


class AllFlaggedPipeline(FakePipeline):
    """The fake pipeline's field with every white cell flagged for review."""

    def analyze(self, frame: object, *, source: str = "") -> Field:
        field = super().analyze(frame, source=source)  # type: ignore[arg-type]
        cells = [replace(c, review=True) if c.auto_class else c for c in field.cells]
        return replace(field, cells=tuple(cells))


# -- point 3 ---------------------------------------------------------------------------
def test_tab_and_class_keys_never_type_into_the_sample_box(qtbot: QtBot, station: Station) -> None:
    win = station.window
    capture(qtbot, win)
    qtbot.keyClick(win.view, Qt.Key.Key_Escape)  # live again; a flagged cell remains
    case = win.workspace.case
    assert case is not None
    name = case.info.sample_id
    win.view.setFocus()
    qtbot.keyClick(win.view, Qt.Key.Key_Tab)
    assert not win.differential.sample_id.hasFocus()
    assert win.review.mode == "review"  # Tab went to the cell awaiting review
    focus = win.focusWidget()
    qtbot.keyClick(focus if focus is not None else win.view, Qt.Key.Key_1)
    qtbot.keyClick(focus if focus is not None else win.view, Qt.Key.Key_Return)
    case = win.workspace.case
    assert case is not None and case.info.sample_id == name
    assert win.differential.sample_id.text() == name


def test_renaming_a_case_with_cells_is_asked_and_keep_keeps_it(
    qtbot: QtBot, station: Station
) -> None:
    win = station.window
    capture(qtbot, win)
    qtbot.keyClick(win.view, Qt.Key.Key_Escape)
    name = win.workspace.case.info.sample_id  # type: ignore[union-attr]
    edit = win.differential.sample_id
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton)  # the technician clicks into it
    edit.selectAll()
    qtbot.keyClicks(edit, "1")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    box = win.case_actions.dialog
    assert isinstance(box, QMessageBox) and box.objectName() == "renameCaseBox"
    assert f"Rename case {name}" in box.text() and "to 1?" in box.text()
    next(b for b in box.buttons() if b.text().startswith("Keep")).click()
    assert win.workspace.case.info.sample_id == name  # type: ignore[union-attr]
    assert edit.text() == name
    qtbot.waitUntil(win.view.hasFocus, timeout=TIMEOUT_MS)  # the picture has the keys


def test_enter_in_the_sample_box_gives_space_back_to_the_picture(
    qtbot: QtBot, station: Station
) -> None:
    win = station.window
    edit = win.differential.sample_id
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(edit, "S-5")
    qtbot.keyClick(edit, Qt.Key.Key_Return)  # an empty case: no question
    assert win.workspace.case is not None and win.workspace.case.info.sample_id == "S-5"
    qtbot.waitUntil(win.view.hasFocus, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: win.live.latest is not None, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(win.cases.field_added, timeout=TIMEOUT_MS):
        qtbot.keyClick(win.view, Qt.Key.Key_Space)
    assert win.workspace.case.info.sample_id == "S-5"
    assert len(win.workspace.case.fields) == 1


def test_no_shortcut_is_ambiguous(station: Station) -> None:
    """Ctrl+Q was given twice to Quit (QKeySequence.Quit is Ctrl+Q here): Qt then calls
    it ambiguous and does nothing."""
    owners: dict[str, QAction] = {}
    for action in station.window.findChildren(QAction):
        keys = [s.toString() for s in action.shortcuts() if not s.isEmpty()]
        assert len(keys) == len(set(keys)), f"{action.text()}: {keys}"
        for key in keys:
            assert owners.setdefault(key, action) is action, f"{key}: {action.text()}"
    assert "Ctrl+Q" in owners and owners["Ctrl+Q"] is station.window.window_actions.quit
    # QKeySequence.Quit is Ctrl+Q on an X11 desktop (empty offscreen): given with the
    # explicit Ctrl+Q, it must still be one shortcut.
    quit_ = _action(station.window, "Quit", lambda: None, ["Ctrl+Q", QKeySequence("Ctrl+Q")])
    assert [s.toString() for s in quit_.shortcuts()] == ["Ctrl+Q"]


# -- point 4 ---------------------------------------------------------------------------
def test_a_class_key_relabels_and_moves_on_then_space_captures_the_next_field(
    qtbot: QtBot, settings_store: SettingsStore, reported: ReportedErrors
) -> None:
    st = make_station(qtbot, settings_store, reported, pipeline=AllFlaggedPipeline())
    win = st.window
    try:
        field_id = capture(qtbot, win)
        field = win.workspace.field(field_id)
        assert field is not None
        order = [c.id for c in reading_order(field)]
        assert win.review.cell_id == order[0]
        for key, class_id, after in (
            (Qt.Key.Key_1, "neutrophil", order[1]),
            (Qt.Key.Key_2, "lymphocyte", order[2]),
            (Qt.Key.Key_3, "monocyte", order[2]),  # the last: it stays
        ):
            cell_id = win.review.cell_id
            qtbot.keyClick(win.view, key)
            cell = win.workspace.field(field_id).get(cell_id or "")  # type: ignore[union-attr]
            assert cell is not None and cell.final_class == class_id
            assert win.review.cell_id == after
        assert "No cells left to review" in win.statusBar().currentMessage()
        win.live.move_stage("right", whole=True)
        with qtbot.waitSignal(win.cases.field_added, timeout=TIMEOUT_MS):
            qtbot.keyClick(win.view, Qt.Key.Key_Space)  # nothing left: the next field
        assert len(win.workspace.case.fields) == 2  # type: ignore[union-attr]
    finally:
        win.close()


def test_pgdn_goes_to_the_next_image_while_reviewing(
    qtbot: QtBot, station: Station, tmp_path: Path
) -> None:
    win = station.window
    open_two_images(qtbot, win, tmp_path)
    capture(qtbot, win)
    assert win.review.mode == "review"
    with qtbot.waitSignal(win.image_shown, timeout=TIMEOUT_MS) as shown:
        qtbot.keyClick(win.view, Qt.Key.Key_PageDown)
    assert shown.args == [1] and win.review.mode == "live"
    assert win.status.source_label.text() == "Image: b.png"


def test_manual_counting_stops_at_the_target(qtbot: QtBot, station: Station) -> None:
    win = station.window
    win.differential.target.setCurrentText("Custom…")
    win.differential.custom.setValue(3)
    qtbot.keyClick(win.view, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert win.review.mode == "manual"
    with qtbot.waitSignal(win.review.refused, timeout=TIMEOUT_MS):
        for key in (Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_1, Qt.Key.Key_2):
            qtbot.keyClick(win.manual, key)
    tally = win.workspace.tally()
    assert tally.denominator == 3 and tally.manual_total == 3
    assert "Target reached (3 of 3): not counted" in win.statusBar().currentMessage()
    assert "target reached" in win.manual.total.text()


class GuessingPipeline(FakePipeline):
    """The fake pipeline with a classifier that calls every cell drawn an eosinophil."""

    class _Classifier:
        def __init__(self) -> None:
            self.boxes: list[object] = []

        def classify_boxes(self, image: object, boxes: object) -> object:
            self.boxes.append(boxes)
            return SimpleNamespace(labels=("eosinophil",))

    def __init__(self) -> None:
        super().__init__()
        self.classifier = self._Classifier()


def test_the_class_menu_offers_the_classifiers_guess_for_a_drawn_cell(
    qtbot: QtBot, settings_store: SettingsStore, reported: ReportedErrors
) -> None:
    pipeline = GuessingPipeline()
    st = make_station(qtbot, settings_store, reported, pipeline=pipeline)
    win = st.window
    guesses: list[str | None] = []

    def ask(box: object, chosen: Callable[[str | None], None]) -> None:
        guesses.append(win.review.guess)  # what the menu would offer first
        chosen(None)

    win.review._ask_class = ask
    try:
        capture(qtbot, win)
        viewport = win.view.viewport()
        start, end = view_point(win, 400, 20), view_point(win, 460, 70)
        qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
        qtbot.mouseMove(viewport, pos=end)
        qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
        qtbot.waitUntil(lambda: guesses == ["eosinophil"], timeout=TIMEOUT_MS)
        assert len(pipeline.classifier.boxes) == 1  # classified once, on Qt's pool
    finally:
        win.close()

    picked: list[str | None] = []
    menu = ClassMenu(win.workspace.taxonomy, picked.append, None, preselect="eosinophil")
    assert menu.preselected is not None and menu.preselected.text().startswith("Eosinophil")
    assert "Classifier's guess: Eosinophil (Enter)" in menu.actions()[0].text()
    menu.preselected.trigger()
    assert picked == ["eosinophil"]
    menu.deleteLater()
