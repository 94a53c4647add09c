"""Fixtures for the GUI tests: a real MainWindow with an injectable error reporter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot
from ui_helpers import ReportedErrors

from hemoscope.ui.main_window import MainWindow


@pytest.fixture(autouse=True)
def _threads_checked(no_thread_leaks: None) -> None:
    """Every GUI test fails if it leaves threads running."""


@pytest.fixture
def reported() -> ReportedErrors:
    return ReportedErrors()


@pytest.fixture
def window(qtbot: QtBot, reported: ReportedErrors) -> Iterator[MainWindow]:
    win = MainWindow(error_reporter=reported)
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
