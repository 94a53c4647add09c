"""SmokeTest in-process: the exit status it gives for each outcome.

It is given a local event loop's exit: QCoreApplication.exit would make every later
event loop of the test session (qtbot.waitSignal's included) return at once.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from hemoscope.ui.shared.errors import LoadFailure
from hemoscope.ui.smoke import EXIT_LOAD_FAILED, EXIT_TIMED_OUT, SmokeTest


def run_loop(loop: QEventLoop, limit_ms: int = 10_000) -> int:
    """Run `loop` until the smoke test ends it (or -1 after `limit_ms`)."""
    QTimer.singleShot(limit_ms, lambda: loop.exit(-1))
    return loop.exec()


def test_passes_after_first_paint(qtbot: QtBot, qapp: QApplication) -> None:
    window = QLabel("hello")
    qtbot.addWidget(window)
    loop = QEventLoop()
    SmokeTest(qapp, window, exit=loop.exit)
    window.show()
    assert run_loop(loop) == 0


def test_fails_when_window_never_shows(qtbot: QtBot, qapp: QApplication) -> None:
    window = QLabel("never shown")
    qtbot.addWidget(window)
    loop = QEventLoop()
    SmokeTest(qapp, window, timeout_ms=200, exit=loop.exit)
    assert run_loop(loop) == EXIT_TIMED_OUT


def test_waits_for_images_and_fails_if_one_could_not_open(qtbot: QtBot, qapp: QApplication) -> None:
    window = QLabel("images")
    qtbot.addWidget(window)
    loop = QEventLoop()
    smoke = SmokeTest(qapp, window, wait_for_load=True, exit=loop.exit)
    window.show()
    failure = LoadFailure(Path("x.png"), "file not found")
    QTimer.singleShot(100, lambda: smoke.load_finished(1, [failure]))
    assert run_loop(loop) == EXIT_LOAD_FAILED
