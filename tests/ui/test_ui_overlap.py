"""No cell counted twice at the station (issue #16, point 2): the simulated microscope's
stage moves with the arrow keys, a field that overlaps an earlier one has the cells
counted there marked "already counted" (visible, out of the tally, said in a banner),
and the edge rule shows on the live picture as the capture applies it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from station_fixtures import TIMEOUT_MS, capture, wait_live
from ui_fakes import NucleusPipeline
from ui_helpers import ReportedErrors

from hemoscope.capture.simulator import SimulatedMicroscope
from hemoscope.core import Box, Case, Cell, CellKind, Field
from hemoscope.core.overlap import UNCOUNTED_EDGE, UNCOUNTED_REPEAT
from hemoscope.ui.case.case_backend import StoreBackend
from hemoscope.ui.main_window import MainWindow
from hemoscope.ui.review.gallery_model import gallery_groups
from hemoscope.ui.settings.settings_store import SettingsStore
from hemoscope.ui.shared.overlay import CellOverlay, label_text


@pytest.fixture
def sim_window(
    qtbot: QtBot, settings_store: SettingsStore, reported: ReportedErrors
) -> Iterator[tuple[MainWindow, SimulatedMicroscope]]:
    sim = SimulatedMicroscope(canvas=(1600, 1200), seed=2, drift=0, focus_cycle=0)
    sim.jump(to=(0, 0))  # a white cell in the right half of the field
    win = MainWindow(
        source=sim, pipeline=NucleusPipeline(), settings=settings_store, error_reporter=reported
    )
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    yield win, sim
    win.close()


def test_an_overlapping_field_counts_no_cell_twice(
    qtbot: QtBot, sim_window: tuple[MainWindow, SimulatedMicroscope]
) -> None:
    win, sim = sim_window
    first = capture(qtbot, win)
    assert win.workspace.tally().denominator == 1
    qtbot.keyClick(win.view, Qt.Key.Key_Escape)
    x0 = sim.position()[0]
    qtbot.keyClick(win.view, Qt.Key.Key_Right)  # the stage: half a field to the right
    assert sim.position()[0] == x0 + 320
    second = capture(qtbot, win, move=False)
    field = win.workspace.field(second)
    assert field is not None and [c.uncounted for c in field.cells] == [UNCOUNTED_REPEAT]
    assert win.workspace.tally().denominator == 1  # the same cell, once
    assert win.notice.isVisible() and "already counted" in win.notice.text.text()
    assert "already counted" in win.statusBar().currentMessage()
    cell = field.cells[0]
    assert win.view.overlay.mark(cell) == UNCOUNTED_REPEAT  # drawn dotted, labelled
    assert label_text(cell, win.workspace.taxonomy).endswith("· already counted")

    # the technician may overrule the mark (a registration can be wrong): Enter counts it
    win.review.select(cell.id)
    assert "already counted, not counted (Enter counts it)" in win.view.caption
    qtbot.keyClick(win.view, Qt.Key.Key_Return)
    assert win.workspace.tally().denominator == 2
    win.window_actions.undo.trigger()
    assert win.workspace.tally().denominator == 1

    qtbot.keyClick(win.view, Qt.Key.Key_Escape)
    assert not win.notice.isVisible()  # it was about the field reviewed
    qtbot.keyClick(win.view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert sim.position()[0] == x0 + 960  # a whole field on: nothing in common
    third = capture(qtbot, win, move=False)
    assert all(c.uncounted != UNCOUNTED_REPEAT for c in win.workspace.field(third).cells)  # type: ignore[union-attr]
    assert not win.notice.isVisible()  # the banner went with the overlap
    assert win.workspace.field(first) is not None


def test_the_live_picture_shows_the_edge_rule(qtbot: QtBot) -> None:
    overlay = CellOverlay()
    inside = Cell.create(Box(100, 100, 160, 160), CellKind.WBC, auto_class="neutrophil")
    cut = Cell.create(Box(0, 100, 50, 160), CellKind.WBC, auto_class="neutrophil")
    overlay.set_field(Field.create([inside, cut], 640, 480))
    overlay.live = True
    assert [overlay.mark(inside), overlay.mark(cut)] == ["", UNCOUNTED_EDGE]
    overlay.live = False  # a captured field shows the marks it was given
    assert overlay.mark(cut) == ""
    qtbot.wait(1)


def test_a_source_without_a_stage_says_so(
    qtbot: QtBot, sim_window: tuple[MainWindow, SimulatedMicroscope]
) -> None:
    win, _ = sim_window
    qtbot.waitUntil(lambda: win.live.latest is not None, timeout=TIMEOUT_MS)
    win.set_source(None)
    qtbot.keyClick(win.view, Qt.Key.Key_Left)
    assert "no stage" in win.statusBar().currentMessage()


def test_the_gallery_shows_each_cell_once(
    qtbot: QtBot, sim_window: tuple[MainWindow, SimulatedMicroscope]
) -> None:
    win, _ = sim_window
    capture(qtbot, win)
    qtbot.keyClick(win.view, Qt.Key.Key_Escape)
    qtbot.keyClick(win.view, Qt.Key.Key_Right)
    capture(qtbot, win, move=False)
    groups = gallery_groups(win.workspace.case, win.workspace.taxonomy)
    assert sum(len(g.entries) for g in groups) == 1


def test_a_reopened_case_is_registered_with_its_stored_images_off_the_gui_thread(
    qtbot: QtBot, tmp_path: Path, settings_store: SettingsStore, reported: ReportedErrors
) -> None:
    """The first capture after a saved case is opened compares the new field with the
    case's earlier fields, whose thumbnails are made from their stored images: read by
    the worker that registers, not by the screen's thread."""
    sim = SimulatedMicroscope(canvas=(1600, 1200), seed=2, drift=0, focus_cycle=0)
    sim.jump(to=(0, 0))
    path = tmp_path / "cases.db"

    def window(backend: StoreBackend) -> MainWindow:
        win = MainWindow(
            source=sim, pipeline=NucleusPipeline(), settings=settings_store,
            error_reporter=reported, backend=backend,
        )  # fmt: skip
        qtbot.addWidget(win)
        win.resize(1200, 800)
        win.show()
        qtbot.waitExposed(win)
        return win

    first = window(StoreBackend(path, operator="tech1"))
    capture(qtbot, first)
    case = first.workspace.case
    assert case is not None
    first.close()  # the case is saved; a new station opens it again

    backend = StoreBackend(path, operator="tech1")
    readers: list[threading.Thread] = []
    read = backend.field_image

    def recording(case_: Case, field_id: str) -> object:
        readers.append(threading.current_thread())
        return read(case_, field_id)

    backend.field_image = recording  # type: ignore[method-assign]
    win = window(backend)
    try:
        win.cases.open_case(case.id)
        assert win.workspace.case is not None and win.workspace.case.id == case.id
        x0 = sim.position()[0]
        qtbot.keyClick(win.view, Qt.Key.Key_Right)  # half a field: the same white cell
        assert sim.position()[0] == x0 + 320
        wait_live(qtbot, win)
        readers.clear()  # opening the case showed its field: what follows is the capture's
        second = capture(qtbot, win, move=False)
        field = win.workspace.field(second)
        assert field is not None and [c.uncounted for c in field.cells] == [UNCOUNTED_REPEAT]
        assert readers and threading.main_thread() not in readers
    finally:
        win.close()
