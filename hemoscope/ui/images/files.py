"""Opened image files as a source: File ▸ Open, drops, and stepping through the images.

`FilesSource` (a controller, not a `FrameSource`: still images need no thread) reads
files in the background with the `ImageLoader`, lists them in the `ImageSession` and the
`ImageStrip`, and puts the image the technician steps to into the live picture
(`LiveController.show_still`), where it is analysed and can be captured like a camera
frame. Failures go to the `ErrorReporter`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from hemoscope.ui.images.image_loader import ImageLoader, LoadedImage
from hemoscope.ui.images.image_session import ImageSession
from hemoscope.ui.images.image_strip import ImageStrip
from hemoscope.ui.live.live import LiveController
from hemoscope.ui.shared.errors import ErrorReporter, LoadFailure, summary
from hemoscope.ui.shared.status import StationStatusBar

__all__ = ["FilesSource"]

log = logging.getLogger(__name__)


class FilesSource(QObject):
    load_finished = Signal(int, list)  # batch number, list[LoadFailure], after reporting
    image_shown = Signal(int)  # index in the session of the image now on screen
    activated = Signal()  # the files became the live source

    def __init__(
        self,
        *,
        loader: ImageLoader,
        session: ImageSession,
        strip: ImageStrip,
        live: LiveController,
        status: StationStatusBar,
        report: ErrorReporter,
        on_title: Callable[[str], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.loader = loader
        self.session = session
        self.strip = strip
        self.live = live
        self.status = status
        self._report = report
        self._on_title = on_title
        self._show_first_of: set[int] = set()  # batches whose first image is to be shown
        self._waiting_for: Path | None = None  # re-read for display: its pixels were dropped
        loader.image_loaded.connect(self._on_loaded)
        loader.batch_finished.connect(self._on_batch_finished)
        strip.image_chosen.connect(self._on_chosen)

    def open_paths(self, paths: Iterable[str | Path]) -> int | None:
        paths = [Path(p) for p in paths]
        if not paths:
            return None
        batch = self.loader.load(paths)
        self._show_first_of.add(batch)
        self.status.showMessage(f"Opening {_count(len(paths), 'item')}…")
        return batch

    @property
    def is_live(self) -> bool:
        """Whether an opened image is the live picture (not a camera)."""
        return bool(self.live.still_name) and self.live.runner is None

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
        self.live.show_still(image, str(entry.path))
        self.activated.emit()
        self.status.clearMessage()
        self.status.show_image(entry, index, len(self.session))
        self.status.show_zoom(self.live.view.scale_factor())
        self._on_title(entry.name)
        self.image_shown.emit(index)

    def point_at(self, source: str | None) -> None:
        """While a field captured from an opened image is reviewed (its `source`), the
        list and the status bar point at that image; None: at the image shown live."""
        if not self.is_live or self.session.current_index is None:
            return
        index = self.session.index_of(Path(source)) if source else None
        if index is None:
            index = self.session.current_index
        self.strip.set_current(index)
        self.status.show_image(self.session.entries[index], index, len(self.session))

    def step(self, delta: int) -> None:
        target = self.session.step(delta)
        if target is not None and target != self.session.current_index:
            self._show_first_of.clear()
            self.show_index(target)

    def forget_title(self) -> None:
        """Another source took over: the window title and image fields say nothing."""
        self.status.show_image(None)
        self.strip.clearSelection()
        self._on_title("")

    # -- loader results -----------------------------------------------------------------
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
        elif self.session.current_index is not None and self.is_live:
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


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
