"""Fixtures for the GUI tests: a real MainWindow with an injectable error reporter.

Settings: every test runs with QSettings pointed at a temporary folder (INI format, a
test organisation name), so no test ever reads or writes the technician's real settings;
the window fixtures also give their own `SettingsStore` on a temporary file. The
simulated microscope's smear cache is a temporary folder too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QSettings
from pytestqt.qtbot import QtBot
from station_fixtures import Station, make_station
from ui_helpers import ReportedErrors

from hemoscope.capture.smear_cache import ENV_CACHE_DIR
from hemoscope.ui.case.memory_backend import MemoryBackend
from hemoscope.ui.main_window import MainWindow
from hemoscope.ui.settings.settings_store import SettingsStore


@pytest.fixture(autouse=True)
def _threads_checked(no_thread_leaks: None) -> None:
    """Every GUI test fails if it leaves threads running."""


@pytest.fixture(scope="session", autouse=True)
def _private_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """QSettings() anywhere in a test writes to a temporary INI file, never the user's."""
    folder = tmp_path_factory.mktemp("qsettings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(folder))
    QCoreApplication.setOrganizationName("HemoScope-tests")
    QCoreApplication.setApplicationName("HemoScope-tests")


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The simulated microscope keeps its smear in a temporary folder, never the user's."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV_CACHE_DIR, str(folder))
        yield


@pytest.fixture
def settings_store(tmp_path: Path) -> SettingsStore:
    return SettingsStore.at(tmp_path / "settings.ini")


@pytest.fixture
def reported() -> ReportedErrors:
    return ReportedErrors()


@pytest.fixture
def window(
    qtbot: QtBot, reported: ReportedErrors, settings_store: SettingsStore
) -> Iterator[MainWindow]:
    win = MainWindow(error_reporter=reported, settings=settings_store)
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


@pytest.fixture
def station(
    qtbot: QtBot, settings_store: SettingsStore, reported: ReportedErrors
) -> Iterator[Station]:
    """The station on a fake 30 FPS microscope with a fake pipeline (no models needed)."""
    st = make_station(qtbot, settings_store, reported)
    yield st
    st.window.close()


@pytest.fixture
def memory_backend() -> Iterator[MemoryBackend]:
    """Cases in memory, operator "tech"; its store's thread is ended afterwards."""
    backend = MemoryBackend(operator="tech")
    yield backend
    backend.close()
