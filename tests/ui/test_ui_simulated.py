"""The station on `hemoscope.capture`'s simulated microscope: the demo source of every
workstation without a camera. One run with the fake pipeline (fast), one end to end with
tiny exported ONNX models through the real `Pipeline` (needs torch to export them)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from station_fixtures import TIMEOUT_MS, capture
from ui_fakes import FakePipeline
from ui_helpers import ReportedErrors

from hemoscope.capture.simulator import SimulatedMicroscope
from hemoscope.ui.main_window import MainWindow
from hemoscope.ui.settings.settings_store import SettingsStore

CANVAS = (1280, 960)  # a small smear: synthesised in a fraction of a second


@pytest.fixture
def simulator() -> SimulatedMicroscope:
    return SimulatedMicroscope(canvas=CANVAS, seed=3)


@pytest.fixture
def window_on(
    qtbot: QtBot, settings_store: SettingsStore, reported: ReportedErrors
) -> Iterator[list[MainWindow]]:
    made: list[MainWindow] = []
    yield made
    for win in made:
        win.close()


def show(qtbot: QtBot, made: list[MainWindow], win: MainWindow) -> MainWindow:
    made.append(win)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_simulated_microscope_capture_relabel_and_unplug(
    qtbot: QtBot,
    simulator: SimulatedMicroscope,
    settings_store: SettingsStore,
    window_on: list[MainWindow],
) -> None:
    win = show(
        qtbot,
        window_on,
        MainWindow(source=simulator, pipeline=FakePipeline(), settings=settings_store),
    )
    qtbot.waitUntil(lambda: win.live.shown_count >= 10, timeout=TIMEOUT_MS)
    label = win.status.source_label
    qtbot.waitUntil(lambda: label.text() == "Simulated microscope · 640×480", timeout=TIMEOUT_MS)
    field_id = capture(qtbot, win)
    qtbot.keyClick(win.view, Qt.Key.Key_3)  # the selected (flagged) cell: monocyte
    cell = win.workspace.field(field_id).get(win.review.cell_id or "")  # type: ignore[union-attr]
    assert cell is not None and cell.final_class == "monocyte"
    qtbot.keyClick(win.view, Qt.Key.Key_Escape)

    simulator.disconnect(failed_reopens=1)
    qtbot.waitUntil(win.source_banner.isVisible, timeout=TIMEOUT_MS)
    assert "Camera lost" in win.source_banner.text.text()
    win.window_actions.reconnect.trigger()  # refused: the cable is still out
    qtbot.waitUntil(lambda: win.live.status().attempts >= 1, timeout=TIMEOUT_MS)  # type: ignore[union-attr]
    win.window_actions.reconnect.trigger()
    qtbot.waitUntil(lambda: not win.source_banner.isVisible(), timeout=TIMEOUT_MS)
    shown = win.live.shown_count
    qtbot.waitUntil(lambda: win.live.shown_count > shown + 5, timeout=TIMEOUT_MS)
    case = win.workspace.case
    assert case is not None and len(case.fields) == 1
    assert case.fields[0].get(cell.id).final_class == "monocyte"  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def tiny_model_paths(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    pytest.importorskip("torch")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "commands"))
    from tiny_models import tiny_models

    return tiny_models(tmp_path_factory.mktemp("tiny-models"))  # type: ignore[no-any-return]


def test_end_to_end_with_tiny_models(
    qtbot: QtBot,
    simulator: SimulatedMicroscope,
    settings_store: SettingsStore,
    tiny_model_paths: tuple[Path, Path],
    window_on: list[MainWindow],
) -> None:
    from hemoscope.vision.pipeline import Pipeline

    detector, classifier = tiny_model_paths
    win = show(
        qtbot,
        window_on,
        MainWindow(
            source=simulator,
            pipeline_factory=lambda: Pipeline.load(detector, classifier, threads=1),
            settings=settings_store,
        ),
    )
    qtbot.waitUntil(lambda: win.worker.state == "ready", timeout=30_000)
    qtbot.waitUntil(lambda: "tiny-detector" in win.status.models_label.text(), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: win.worker.analysed >= 3, timeout=30_000)
    field_id = capture(qtbot, win)
    field = win.workspace.field(field_id)
    assert field is not None and (field.width, field.height) == (640, 480)
    assert len(field.cells) > 0  # the tiny detector is random, but it finds something
    assert win.differential.tally is not None
    assert win.differential.tally.n_fields == 1
