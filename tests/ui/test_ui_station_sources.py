"""Sources of the station: a camera lost and reconnected without losing the case, no
models at all, opened image files as a source."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from station_fixtures import TIMEOUT_MS, Station, capture, make_station, open_two_images, view_point
from ui_fakes import FakePipeline, FakeSource
from ui_helpers import ReportedErrors, make_field

from hemoscope.ui.live.source_menu import SourceChoice
from hemoscope.ui.live.source_runner import SourceState
from hemoscope.ui.main_window import MainWindow
from hemoscope.ui.settings.settings_store import SettingsStore
from hemoscope.vision.model_card import ModelError


def test_camera_loss_shows_a_banner_keeps_the_case_and_reconnects(
    qtbot: QtBot, station: Station
) -> None:
    win = station.window
    capture(qtbot, win)
    qtbot.keyClick(win.view, Qt.Key.Key_Space)  # back to live
    case_before = win.workspace.case

    station.source.lose(refuse_opens=1)  # unplugged; the first reopen fails too
    qtbot.waitUntil(lambda: win.source_banner.isVisible(), timeout=TIMEOUT_MS)
    assert "Camera lost" in win.source_banner.text.text()
    assert "1 field captured" in win.source_banner.text.text()
    assert "LOST" in win.status.source_label.text()
    assert win.workspace.case is case_before  # nothing happened to the case

    # Space while lost captures nothing (the picture is stale).
    qtbot.keyClick(win.view, Qt.Key.Key_Space)
    assert len(win.workspace.case.fields) == 1  # type: ignore[union-attr]
    assert win.review.mode == "live"

    opens = station.source.opens
    win.source_banner.button.click()  # Reconnect: refused once ...
    qtbot.waitUntil(lambda: station.source.opens > opens, timeout=TIMEOUT_MS)
    win.source_banner.button.click()  # ... then the cable is back
    qtbot.waitUntil(lambda: not win.source_banner.isVisible(), timeout=TIMEOUT_MS)
    status = win.live.status()
    assert status is not None and status.state is SourceState.RUNNING
    frames = win.live.shown_count
    qtbot.waitUntil(lambda: win.live.shown_count > frames + 3, timeout=TIMEOUT_MS)
    capture(qtbot, win)
    assert len(win.workspace.case.fields) == 2  # type: ignore[union-attr]


def test_without_models_the_picture_runs_and_cells_are_added_by_hand(
    qtbot: QtBot, settings_store: SettingsStore, reported: ReportedErrors
) -> None:
    def no_models() -> FakePipeline:
        raise ModelError("models/detector.onnx is missing")

    source = FakeSource()
    win = MainWindow(
        source=source,
        pipeline_factory=no_models,
        settings=settings_store,
        error_reporter=reported,
        ask_class=lambda box, chosen: chosen("lymphocyte"),
    )
    qtbot.addWidget(win)
    win.show()
    try:
        qtbot.waitUntil(lambda: win.notice.isVisible(), timeout=TIMEOUT_MS)
        assert "models not available: models/detector.onnx is missing" in win.notice.text.text()
        assert win.status.models_label.text() == "No models"
        qtbot.waitUntil(lambda: win.live.shown_count >= 3, timeout=TIMEOUT_MS)
        with qtbot.waitSignal(win.cases.field_added, timeout=TIMEOUT_MS):
            qtbot.keyClick(win.view, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: win.review.mode == "review", timeout=TIMEOUT_MS)
        field_id = win.review.field_id
        assert field_id is not None and win.workspace.field(field_id).cells == ()  # type: ignore[union-attr]
        viewport = win.view.viewport()
        start, end = view_point(win, 10, 10), view_point(win, 60, 60)
        qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
        qtbot.mouseMove(viewport, pos=end)
        qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
        field = win.workspace.field(field_id)
        assert field is not None and field.n_wbc == 1
        assert field.cells[0].final_class == "lymphocyte" and field.cells[0].manual
    finally:
        win.close()


def test_opened_images_are_a_source_and_can_be_captured(
    qtbot: QtBot, station: Station, tmp_path: Path
) -> None:
    win = station.window
    paths = open_two_images(qtbot, win, tmp_path)
    assert win.live.runner is None  # the camera was stopped
    assert win.images_dock.isVisible()
    assert win.status.source_label.text() == "Image: a.png"
    field_id = capture(qtbot, win)
    field = win.workspace.field(field_id)
    assert field is not None and field.source == str(paths[0])

    qtbot.keyClick(win.view, Qt.Key.Key_Space)  # back to live (the image)
    qtbot.keyClick(win.view, Qt.Key.Key_Space)  # the same image again: refused
    assert len(win.workspace.case.fields) == 1  # type: ignore[union-attr]
    assert win.review.field_id == field_id

    qtbot.keyClick(win.view, Qt.Key.Key_Escape)
    with qtbot.waitSignal(win.image_shown, timeout=TIMEOUT_MS):
        qtbot.keyClick(win.view, Qt.Key.Key_PageDown)
    second = capture(qtbot, win)
    assert win.workspace.field(second).source == str(paths[1])  # type: ignore[union-attr]


def test_choosing_a_source_again_leaves_the_files(
    qtbot: QtBot, station: Station, tmp_path: Path
) -> None:
    win = station.window
    make_field(tmp_path / "a.png")
    with qtbot.waitSignal(win.load_finished, timeout=TIMEOUT_MS):
        win.open_paths([tmp_path / "a.png"])
    source = FakeSource()
    win.set_source(source)
    qtbot.waitUntil(lambda: source.frames > 3, timeout=TIMEOUT_MS)
    assert win.live.still_name == ""
    assert win.windowTitle() == "HemoScope"
    assert not win.images_dock.isVisible()


@pytest.mark.parametrize("fps", [0.0])
def test_a_source_that_never_opens_says_so(
    qtbot: QtBot, settings_store: SettingsStore, reported: ReportedErrors, fps: float
) -> None:
    source = FakeSource(fps=fps)
    source.refuse_opens = 1000
    st = make_station(qtbot, settings_store, reported, source=source)
    try:
        qtbot.waitUntil(lambda: st.window.source_banner.isVisible(), timeout=TIMEOUT_MS)
        assert "could not be opened: no camera on this port" in st.window.source_banner.text.text()
        assert st.window.source_banner.button.text() == "Retry"
    finally:
        st.window.close()


class _Catalog:
    """A SourceCatalog with one fake microscope and fake videos."""

    def __init__(self) -> None:
        self.made: list[FakeSource] = []

    def choices(self) -> list[SourceChoice]:
        return [SourceChoice("fake:1", "Fake scope 1", self._make)]

    def video(self, path: Path) -> FakeSource:
        return self._make()

    def _make(self) -> FakeSource:
        source = FakeSource()
        self.made.append(source)
        return source


def test_the_source_menu_lists_the_catalogue_and_switches_sources(
    qtbot: QtBot, settings_store: SettingsStore, reported: ReportedErrors
) -> None:
    catalog = _Catalog()
    st = make_station(qtbot, settings_store, reported, sources=catalog)
    win = st.window
    try:
        menu = win.source_menu
        qtbot.waitUntil(lambda: not menu.searching and bool(menu.choices), timeout=TIMEOUT_MS)
        labels = [a.text() for a in win.window_actions.source_menu.actions()]
        assert "Fake scope 1" in labels and "&Reconnect" in labels
        entry = next(
            a for a in win.window_actions.source_group.actions() if a.text() == "Fake scope 1"
        )
        entry.trigger()
        assert catalog.made and win.live.runner is not None
        assert win.live.runner.source is catalog.made[0]
        assert entry.isChecked()
        qtbot.waitUntil(lambda: catalog.made[0].frames > 3, timeout=TIMEOUT_MS)
        assert st.source.closed >= 1  # the first source was stopped and closed
    finally:
        win.close()
