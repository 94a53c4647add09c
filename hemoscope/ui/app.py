"""Start the GUI: the QApplication, its look, and the main window."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QMessageLogContext, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from hemoscope import __version__
from hemoscope.ui.errors import log_failures
from hemoscope.ui.main_window import MainWindow
from hemoscope.ui.resources import app_icon, style_sheet
from hemoscope.ui.smoke import EXIT_TIMED_OUT, SmokeTest

__all__ = ["create_application", "run"]

log = logging.getLogger(__name__)
qt_log = logging.getLogger("qt")

APP_NAME = "HemoScope"
ORGANIZATION = "HemoScope"


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication (made if there is none yet) with HemoScope's name, icon and look."""
    existing = QCoreApplication.instance()
    if isinstance(existing, QApplication):
        app = existing
    elif existing is not None:
        raise RuntimeError("a non-GUI QCoreApplication already exists")
    else:
        app = QApplication(list(argv) if argv is not None else sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("hemoscope")
    app.setWindowIcon(app_icon())
    app.setStyle("Fusion")
    app.setPalette(light_palette())
    app.setStyleSheet(style_sheet())
    qInstallMessageHandler(_qt_message)
    return app


def light_palette() -> QPalette:
    """A calm light palette, the same whatever the desktop's theme (night mode included)."""
    palette = QPalette()
    roles = QPalette.ColorRole
    for role, color in {
        roles.Window: "#f4f6f8",
        roles.WindowText: "#1f2933",
        roles.Base: "#ffffff",
        roles.AlternateBase: "#eef1f4",
        roles.Text: "#1f2933",
        roles.Button: "#e9edf1",
        roles.ButtonText: "#1f2933",
        roles.Highlight: "#2f6f9f",
        roles.HighlightedText: "#ffffff",
        roles.ToolTipBase: "#ffffff",
        roles.ToolTipText: "#1f2933",
        roles.PlaceholderText: "#7b8794",
        roles.Link: "#2f6f9f",
    }.items():
        palette.setColor(role, QColor(color))
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        palette.setColor(disabled, role, QColor("#9aa5b1"))
    return palette


def run(images: Sequence[Path] = (), *, smoke_test: bool = False) -> int:
    """Show the main window, open `images`, and run until it closes; the exit status.

    With `smoke_test`, quit as soon as the window has been painted and `images` have
    been tried (see `SmokeTest`), and log failures instead of showing message boxes.
    """
    app = create_application()
    window = MainWindow(error_reporter=log_failures if smoke_test else None)
    checker: SmokeTest | None = None
    if smoke_test:
        checker = SmokeTest(app, window, wait_for_load=bool(images))
        window.load_finished.connect(checker.load_finished)
    _fit_to_screen(window)
    window.show()
    if not window.isVisible():
        log.error("the main window could not be shown")
        return EXIT_TIMED_OUT
    if images:
        window.open_paths(images)
    status = app.exec()
    window.loader.shutdown()
    return int(status)


def _fit_to_screen(window: QWidget) -> None:
    """Keep the default window size within the screen (a 1366 x 768 laptop, say)."""
    screen = window.screen()
    if screen is None:
        return
    available = screen.availableGeometry()
    size = window.size().boundedTo(available.size() * 0.95)
    window.resize(size)
    frame = window.frameGeometry()
    frame.moveCenter(available.center())
    window.move(frame.topLeft())


# Harmless messages of Qt's headless platform (smoke tests, CI), logged at DEBUG.
_QT_NOISE = ("This plugin does not support propagateSizeHints()",)


def _qt_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """Route Qt's own messages to the "qt" logger."""
    if message in _QT_NOISE:
        qt_log.debug("%s", message)
        return
    level = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
        QtMsgType.QtCriticalMsg: logging.ERROR,
        QtMsgType.QtFatalMsg: logging.CRITICAL,
    }.get(kind, logging.WARNING)
    qt_log.log(level, "%s", message)
