"""Start the GUI: the QApplication, its look, and the main window."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import (
    QCoreApplication,
    QMessageLogContext,
    QStandardPaths,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from hemoscope import __version__
from hemoscope.core import STANDARD_SENSITIVITY
from hemoscope.store import StoreCorruptError, StoreError, database_path
from hemoscope.ui.case.case_backend import CaseBackend, StoreBackend
from hemoscope.ui.case.memory_backend import MemoryBackend, login_name
from hemoscope.ui.case.store_recovery import Choice, recover
from hemoscope.ui.live.capture_sources import BestSourceOpener, CaptureCatalog
from hemoscope.ui.live.inference import Analyzer
from hemoscope.ui.main_window import MainWindow
from hemoscope.ui.settings.settings_store import SettingsStore
from hemoscope.ui.shared.errors import log_failures
from hemoscope.ui.shared.resources import app_icon, style_sheet
from hemoscope.ui.smoke import EXIT_TIMED_OUT, SmokeTest

__all__ = ["create_application", "inference_threads", "load_pipeline", "open_case_store", "run"]

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


def run(
    images: Sequence[Path] = (),
    *,
    smoke_test: bool = False,
    db: Path | None = None,
    prefer_camera: bool = True,
) -> int:
    """Show the station, open `images` (else the best source: a camera, or the simulated
    microscope), and run until it closes; the exit status.

    Cases are saved in the case database `db` (default: ``hemoscope-cases.db`` in the
    user's data folder). With `smoke_test`: the simulated microscope, cases in memory
    only, failures logged instead of shown; quit once the window is painted, `images`
    were tried and, with models, a few live frames were analysed (see `SmokeTest`).
    """
    app = create_application()
    settings = SettingsStore()
    station = settings.load()
    threads = inference_threads(station.inference_threads)
    if smoke_test:
        backend: CaseBackend = MemoryBackend()
        problem = ""
    else:
        opened = open_case_store(db, on_damaged=recover)
        if opened is None:
            return 1  # the technician chose to quit (restore the database from a backup)
        backend, problem = opened
    catalog = CaptureCatalog()
    window = MainWindow(
        sources=catalog,
        pipeline_factory=lambda: load_pipeline(
            threads, station.lab_profile, station.review_sensitivity
        ),
        backend=backend,
        settings=settings,
        error_reporter=log_failures if smoke_test else None,
    )
    catalog.camera_size = lambda: window.settings.camera_resolution()  # as set now
    if problem:
        window.notice.show_message(f"Cases are NOT being saved: {problem}", level="error")
    checker: SmokeTest | None = None
    if smoke_test:
        checker = SmokeTest(
            app,
            window,
            wait_for_load=bool(images),
            # A still image is analysed once; a live source gives a new frame each time.
            inference_frames=1 if images else SMOKE_FRAMES,
            frame_shown=None if images else lambda: window.live.shown_count > 0,
        )
        window.load_finished.connect(checker.load_finished)
        window.worker.ready.connect(checker.models_ready)
        window.worker.unavailable.connect(checker.models_unavailable)
        window.worker.result.connect(checker.frame_analysed)
    _fit_to_screen(window)
    window.show()
    if not window.isVisible():
        log.error("the main window could not be shown")
        return EXIT_TIMED_OUT
    if images:
        window.open_paths(images)
    else:
        opener = BestSourceOpener(
            prefer_camera=prefer_camera and not smoke_test,
            camera_index=station.camera_index,
            camera_size=station.camera_resolution(),
            parent=window,
        )
        window.open_source_in_background(opener)
    try:
        status = app.exec()
    finally:
        window.shutdown()  # writes what is queued and closes the case database
    return int(status)


SMOKE_FRAMES = 3
"""Live frames the models must analyse before --smoke-test passes (when they exist)."""


def inference_threads(configured: int) -> int:
    """ONNX Runtime threads: as configured, else half the cores (the GUI, the camera and
    the desktop keep the rest), at least one."""
    return configured if configured > 0 else max(1, (os.cpu_count() or 2) // 2)


def load_pipeline(
    threads: int, lab_profile: str = "", sensitivity: str = STANDARD_SENSITIVITY
) -> Analyzer:
    """The shipped models (on the inference thread; raises ModelError without them), with
    the laboratory profile of Settings ▸ Models when it fits them (else without it, and
    the reason logged: the station still starts; Settings ▸ Models says why), flagging
    unfamiliar cells at the review sensitivity of Settings ▸ Models when the classifier
    has a threshold for it (else at the standard one, the reason logged)."""
    from hemoscope.vision.lab_profile import LabProfile, ProfileError
    from hemoscope.vision.model_card import ModelError
    from hemoscope.vision.pipeline import Pipeline

    pipeline = Pipeline.load(threads=threads)
    try:
        pipeline.set_sensitivity(sensitivity)
    except (ModelError, ValueError) as error:
        log.warning("review sensitivity '%s' not used (standard instead): %s", sensitivity, error)
    if lab_profile:
        try:
            pipeline.set_profile(LabProfile.load(lab_profile))
        except ProfileError as error:
            log.warning("laboratory profile not used: %s", error)
    return pipeline


def open_case_store(
    db: Path | None,
    *,
    on_damaged: Callable[[StoreCorruptError], tuple[Choice, Path | None]] | None = None,
) -> tuple[CaseBackend, str] | None:
    """The case database (made if new), written on its own thread; in memory, with the
    reason, when it cannot be opened (the station still works, and says the cases are not
    saved). A database that fails its integrity check goes to `on_damaged` (which may
    move it aside for a new one); None: the technician chose to quit."""
    if db is None:
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
        db = database_path(folder)
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        try:
            backend = StoreBackend(db, operator=login_name())
        except StoreCorruptError as damaged:
            if on_damaged is None:
                raise
            choice, moved = on_damaged(damaged)
            if choice == "quit":
                return None
            if choice == "memory":
                raise
            backend = StoreBackend(db, operator=login_name())
            log.warning("new case database at %s; the damaged one is %s", db, moved)
    except (StoreError, OSError) as error:
        log.error("cannot open the case database %s: %s", db, error)
        return MemoryBackend(), str(error)
    log.info("cases are saved in %s", db)
    return backend, ""


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
