"""HemoScope's main window: composes the image view, the image strip and the status bar.

The window wires its parts together and holds no image logic of its own: files are read
by the `ImageLoader`, the list of opened images lives in the Qt-free `ImageSession`,
pixels are shown by the `ImageView`, and failures go to the `ErrorReporter`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QDockWidget, QFileDialog, QMainWindow, QWidget

from hemoscope.capture.image_files import IMAGE_EXTENSIONS
from hemoscope.ui.about import show_about
from hemoscope.ui.actions import WindowActions, build_menus
from hemoscope.ui.errors import ErrorReporter, LoadFailure, MessageBoxErrorReporter, summary
from hemoscope.ui.image_loader import ImageLoader, LoadedImage
from hemoscope.ui.image_session import ImageSession
from hemoscope.ui.image_strip import ImageStrip
from hemoscope.ui.image_view import ImageView
from hemoscope.ui.status import ImageStatusBar

__all__ = ["MainWindow", "local_paths"]

log = logging.getLogger(__name__)

APP_TITLE = "HemoScope"
_patterns = sorted(IMAGE_EXTENSIONS)
FILE_FILTER = "Images (" + " ".join(f"*{e} *{e.upper()}" for e in _patterns) + ");;All files (*)"


def local_paths(mime: QMimeData) -> list[Path]:
    """The local files and folders named by dragged or pasted data."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class MainWindow(QMainWindow):
    """The application window. Collaborators may be passed in (tests do); by default it
    makes its own loader and session and reports errors in a message box."""

    load_finished = Signal(int, list)  # batch number, list[LoadFailure], after reporting
    image_shown = Signal(int)  # index in the session of the image now on screen

    def __init__(
        self,
        *,
        loader: ImageLoader | None = None,
        session: ImageSession | None = None,
        error_reporter: ErrorReporter | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.session = session if session is not None else ImageSession()
        self.loader = loader if loader is not None else ImageLoader(parent=self)
        self._report: ErrorReporter = (
            error_reporter if error_reporter is not None else MessageBoxErrorReporter(self)
        )
        self._show_first_of: set[int] = set()  # batches whose first image is to be shown
        self._waiting_for: Path | None = None  # re-read for display, its pixels were dropped
        self._last_folder = Path.home()

        self.view = ImageView(self)
        self.strip = ImageStrip(self)
        self.status = ImageStatusBar(self)
        self.setCentralWidget(self.view)
        self.setStatusBar(self.status)
        dock = QDockWidget("Images", self)
        dock.setObjectName("imagesDock")
        dock.setWidget(self.strip)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.resizeDocks([dock], [220], Qt.Orientation.Horizontal)
        self.window_actions = self._build_menus()

        self.loader.image_loaded.connect(self._on_loaded)
        self.loader.batch_finished.connect(self._on_batch_finished)
        self.strip.image_chosen.connect(self._on_chosen)
        self.view.zoom_changed.connect(self.status.show_zoom)
        self.setAcceptDrops(True)
        self.view.viewport().setAcceptDrops(False)
        self.resize(1280, 800)
        self._update_title()

    # -- opening ------------------------------------------------------------------
    def open_paths(self, paths: Iterable[str | Path]) -> int | None:
        """Open image files and folders (the code path of File ▸ Open and of drops).

        Reading happens in the background; the first image that can be read is shown,
        and `load_finished` is emitted once all were tried. Returns the batch number.
        """
        paths = [Path(p) for p in paths]
        if not paths:
            return None
        batch = self.loader.load(paths)
        self._show_first_of.add(batch)
        self.status.showMessage(f"Opening {_count(len(paths), 'item')}…")
        return batch

    def open_files_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Open images", str(self._last_folder), FILE_FILTER
        )
        if files:
            self._last_folder = Path(files[0]).parent
            self.open_paths(files)

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open folder", str(self._last_folder))
        if folder:
            self._last_folder = Path(folder)
            self.open_paths([folder])

    # -- navigation ---------------------------------------------------------------
    def show_index(self, index: int) -> None:
        """Show opened image `index`, reading it again if its pixels were dropped."""
        entry = self.session.select(index)
        self.strip.set_current(index)
        image = self.session.pixels(index)
        if image is None:
            self._waiting_for = entry.path
            self.loader.load([entry.path])
            self.status.showMessage(f"Reading {entry.name}…")
            return
        self._waiting_for = None
        self.view.set_image(image)
        self.status.clearMessage()
        self.status.show_image(entry, index, len(self.session))
        self.status.show_zoom(self.view.scale_factor())
        self._update_title()
        self.image_shown.emit(index)

    def step(self, delta: int) -> None:
        target = self.session.step(delta)
        if target is not None and target != self.session.current_index:
            self._show_first_of.clear()
            self.show_index(target)

    # -- loader results -----------------------------------------------------------
    def _on_loaded(self, loaded: LoadedImage) -> None:
        index, is_new = self.session.add(loaded.path, loaded.image)
        entry = self.session.entries[index]
        if is_new:
            self.strip.add_entry(entry, loaded.image)
        else:
            self.strip.update_entry(index, entry, loaded.image)
        if loaded.batch in self._show_first_of:
            self._show_first_of.discard(loaded.batch)
            self.show_index(index)
        elif self._waiting_for is not None and self.session.index_of(self._waiting_for) == index:
            self.show_index(index)
        elif self.session.current_index is not None:
            cur = self.session.current_index  # the position "i / n" changed
            self.status.show_image(self.session.entries[cur], cur, len(self.session))

    def _on_batch_finished(self, batch: int, failures: Sequence[LoadFailure]) -> None:
        self._show_first_of.discard(batch)
        failures = list(failures)
        if failures:
            for failure in failures:
                log.warning("cannot open %s: %s", failure.path, failure.reason)
            self.status.show_error(summary(failures))
            self._report(failures)
        elif self.status.currentMessage().startswith("Opening"):
            self.status.clearMessage()
        self.load_finished.emit(batch, failures)

    def _on_chosen(self, index: int) -> None:
        self._show_first_of.clear()  # the user's choice wins over images still loading
        self.show_index(index)

    # -- drag and drop ------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = local_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_paths(paths)

    # -- window -------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        self.loader.shutdown()
        super().closeEvent(event)

    def _update_title(self) -> None:
        entry = self.session.current
        self.setWindowTitle(APP_TITLE if entry is None else f"{entry.name} — {APP_TITLE}")

    def _build_menus(self) -> WindowActions:
        return build_menus(
            self,
            self.menuBar(),
            {
                "open_files": self.open_files_dialog,
                "open_folder": self.open_folder_dialog,
                "quit": self._quit,
                "zoom_in": self.view.zoom_in,
                "zoom_out": self.view.zoom_out,
                "fit": self.view.fit,
                "actual_size": self.view.actual_size,
                "previous_image": lambda: self.step(-1),
                "next_image": lambda: self.step(+1),
                "about": lambda: show_about(self),
            },
        )

    def _quit(self) -> None:
        self.close()
        app = QApplication.instance()
        if app is not None:
            app.quit()


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
