"""--smoke-test: prove that the application starts, paints its window, (optionally) opens
the images it was given and, when the models are there, analyses a few live frames; then
quit with a status that says whether it did."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget

from hemoscope.ui.shared.errors import LoadFailure

__all__ = ["EXIT_LOAD_FAILED", "EXIT_TIMED_OUT", "SmokeTest"]

log = logging.getLogger(__name__)

EXIT_TIMED_OUT = 3
EXIT_LOAD_FAILED = 4


class SmokeTest(QObject):
    """Quits the application once `window` has been painted, when `wait_for_load` once
    its first batch of images has been tried, when `frame_shown` once it says a live frame
    is on screen, and when `inference_frames` once the models have analysed that many
    frames (or said they are not available: the station runs without them, so that is not
    a failure).

    Exit status: 0 if all went well, `EXIT_LOAD_FAILED` if an image could not be opened,
    `EXIT_TIMED_OUT` if that did not happen within `timeout_ms`.
    """

    def __init__(
        self,
        app: QCoreApplication,
        window: QWidget,
        *,
        wait_for_load: bool = False,
        inference_frames: int = 0,
        frame_shown: Callable[[], bool] | None = None,
        timeout_ms: int = 30_000,
        exit: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(window)
        self._app = app
        # QCoreApplication.exit by default. (Tests pass a QEventLoop's exit: once the
        # application has exited, every later event loop in the process returns at once.)
        self._exit = exit if exit is not None else app.exit
        self._window = window
        self._painted = False
        self._loaded = not wait_for_load
        self._failures: list[LoadFailure] = []
        self._frames_wanted = inference_frames
        self._frames = 0
        self._models_done = inference_frames <= 0
        self._frame_shown = frame_shown
        self._done = False
        if frame_shown is not None:  # polled: the live view signals nothing per frame
            self._poll = QTimer(self)
            self._poll.timeout.connect(self._maybe_quit)
            self._poll.start(50)
        # Paint events go to whichever widgets need repainting, which need not include
        # the main window itself: watch them all, until the first one for our window.
        app.installEventFilter(self)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._timed_out)
        self._timer.start(timeout_ms)

    def load_finished(self, _batch: int, failures: Sequence[LoadFailure]) -> None:
        self._failures.extend(failures)
        self._loaded = True
        self._maybe_quit()

    def models_ready(self, versions: str) -> None:
        log.info("smoke test: models loaded (%s)", versions or "no model cards")

    def models_unavailable(self, message: str) -> None:
        log.warning("smoke test: %s; the station runs without them", message)
        self._models_done = True
        self._maybe_quit()

    def frame_analysed(self, _result: object = None) -> None:
        self._frames += 1
        if not self._models_done and self._frames >= self._frames_wanted:
            log.info("smoke test: %d live frames analysed", self._frames)
            self._models_done = True
            self._maybe_quit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            not self._painted
            and event.type() == QEvent.Type.Paint
            and isinstance(watched, QWidget)
            and watched.window() is self._window
        ):
            self._painted = True
            self._app.removeEventFilter(self)
            log.info("smoke test: the main window was painted")
            # Quit after this paint event has been delivered, not from inside it.
            QTimer.singleShot(0, self._maybe_quit)
        return False

    def _maybe_quit(self) -> None:
        if self._done or not (self._painted and self._loaded and self._models_done):
            return
        if self._frame_shown is not None and not self._frame_shown():
            return
        log.info("smoke test: the live picture is shown")
        self._done = True
        self._timer.stop()
        if self._failures:
            log.error("smoke test failed: %d image(s) could not be opened", len(self._failures))
            self._exit(EXIT_LOAD_FAILED)
        else:
            log.info("smoke test passed")
            self._exit(0)

    def _timed_out(self) -> None:
        self._done = True
        self._app.removeEventFilter(self)
        what = (
            "painted"
            if not self._painted
            else "done opening its images"
            if not self._loaded
            else f"done analysing {self._frames_wanted} frames ({self._frames} analysed)"
            if not self._models_done
            else "showing a live frame"
        )
        log.error("smoke test failed: the main window was not %s in time", what)
        self._exit(EXIT_TIMED_OUT)
