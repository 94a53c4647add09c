"""A real MainWindow on a fake microscope and a fake pipeline, and helpers to drive it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot
from ui_fakes import FakePipeline, FakeSource
from ui_helpers import ReportedErrors, make_field

from hemoscope.core import Box, Cell
from hemoscope.ui.main_window import MainWindow
from hemoscope.ui.settings.settings_store import SettingsStore

TIMEOUT_MS = 10_000


@dataclass
class Station:
    window: MainWindow
    source: FakeSource
    pipeline: FakePipeline
    beeps: list[int] = field(default_factory=list)
    answer: list[str | None] = field(default_factory=lambda: ["eosinophil"])
    asked: list[Box] = field(default_factory=list)

    def ask_class(self, box: Box, chosen: Callable[[str | None], None]) -> None:
        self.asked.append(box)
        chosen(self.answer[0])


def make_station(
    qtbot: QtBot,
    settings: SettingsStore,
    reported: ReportedErrors,
    *,
    source: FakeSource | None = None,
    pipeline: FakePipeline | None = None,
    **kwargs: object,
) -> Station:
    station = Station(
        window=None,  # type: ignore[arg-type]
        source=source if source is not None else FakeSource(),
        pipeline=pipeline if pipeline is not None else FakePipeline(),
    )
    win = MainWindow(
        source=station.source,
        pipeline=station.pipeline,
        settings=settings,
        error_reporter=reported,
        ask_class=station.ask_class,
        beep=lambda: station.beeps.append(1),
        **kwargs,  # type: ignore[arg-type]
    )
    station.window = win
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    return station


def wait_live(qtbot: QtBot, win: MainWindow) -> None:
    """Until a frame is shown with its cells drawn over it."""
    qtbot.waitUntil(lambda: win.live.latest is not None and win.view.overlay.field is not None,
                    timeout=TIMEOUT_MS)  # fmt: skip


def capture(qtbot: QtBot, win: MainWindow, *, move: bool = True) -> str:
    """Press Space in live mode, once a frame not captured yet was analysed; the id of the
    field captured. `move`: when the case has fields already, the stage first moves a
    whole field (a field of its own, none of its cells counted before)."""
    wait_live(qtbot, win)
    case = win.workspace.case
    if move and case is not None and case.fields:
        win.live.move_stage("right", whole=True)

    def new_result() -> bool:
        latest = win.live.latest
        return latest is not None and win.workspace.field(latest.field.id) is None

    qtbot.waitUntil(new_result, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(win.cases.field_added, timeout=TIMEOUT_MS) as added:
        qtbot.keyClick(win.view, Qt.Key.Key_Space)
    field_id = str(added.args[0])
    qtbot.waitUntil(lambda: win.review.field_id == field_id, timeout=TIMEOUT_MS)
    return field_id


def click_cell(qtbot: QtBot, win: MainWindow, cell: Cell) -> None:
    x, y = cell.box.centre
    qtbot.mouseClick(win.view.viewport(), Qt.MouseButton.LeftButton, pos=view_point(win, x, y))


def view_point(win: MainWindow, x: float, y: float) -> QPoint:
    return win.view.mapFromScene(x, y)


def open_two_images(qtbot: QtBot, win: MainWindow, folder: Path) -> list[Path]:
    """Two generated 640x480 fields (a.png, b.png) opened in the station, loaded."""
    paths = [folder / "a.png", folder / "b.png"]
    for path in paths:
        make_field(path, 640, 480)
    with qtbot.waitSignal(win.load_finished, timeout=TIMEOUT_MS):
        win.open_paths(paths)
    return paths
