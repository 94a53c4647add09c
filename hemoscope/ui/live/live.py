"""The live picture: pull the newest frame on a timer, show it, feed the inference worker.

`LiveController` owns the `SourceRunner` of the current source (its `CaptureThread` keeps
the newest frame) and the display timer. On each tick (every `interval_ms`) it looks at
the newest frame; when it is newer than the one shown and the station is live, it shows
it and submits it to the worker (which keeps only the newest). Results come back by
signal; the newest one's cells are drawn over the picture. Nothing is signalled per
frame: the source thread only replaces its newest frame, and the GUI reads it at its own
pace.

Opened image files are a source too: `show_still` puts the image into a one-frame
mailbox (`LatestFrame`), and it is shown and analysed like a camera frame that does not
change.

The source's state is polled as well; `source_status` is emitted when it changes (the
window shows the lost-camera banner from it), and the status bar's figures are refreshed
twice a second.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from hemoscope.capture.source import FrameSource
from hemoscope.capture.stage import MovableStage, stage_step
from hemoscope.core import Field
from hemoscope.ui.live.frames import Frame, LatestFrame, RateMeter, StampedFrame
from hemoscope.ui.live.inference import InferenceResult, InferenceWorker
from hemoscope.ui.live.source_runner import SourceRunner, SourceState, SourceStatus
from hemoscope.ui.station_view import StationView

__all__ = ["FRESH_S", "LiveController"]

log = logging.getLogger(__name__)

INTERVAL_MS = 10
STATUS_EVERY_S = 0.5
FRESH_S = 1.0  # a streaming result this recent may be captured
STAGE_SETTLE_S = 0.1  # frames this soon after a stage move may show the old view
LAGS_KEPT = 600

CaptureCallback = Callable[[Frame, Field], None]


class LiveController(QObject):
    source_status = Signal(object)  # SourceStatus, when the state or message changes
    rates = Signal(float, float, object)  # shown FPS, source FPS, inference ms or None
    result_shown = Signal(object)  # InferenceResult drawn over the live picture

    def __init__(
        self,
        *,
        view: StationView,
        worker: InferenceWorker,
        slot: LatestFrame | None = None,
        interval_ms: int = INTERVAL_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.view = view
        self.worker = worker
        self.slot = slot if slot is not None else LatestFrame()
        self.runner: SourceRunner | None = None
        self.still_name = ""  # name of the opened image shown, when the source is files
        self.active = True  # False while a captured field or the manual counter is shown
        self.latest: InferenceResult | None = None
        self._moved_t = 0.0  # when the stage last moved (monotonic), plus settling
        self.shown = RateMeter()
        self.shown_count = 0
        self.lags_ms: deque[float] = deque(maxlen=LAGS_KEPT)  # frame arrival -> overlay
        self._shown_seq = 0
        self._submitted_seq = 0
        self._last_status: tuple[SourceState, str] | None = None
        self._status_due = 0.0
        self._pending_capture: CaptureCallback | None = None
        self._generation = worker.generation
        self.worker.result.connect(self._on_result)
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.tick)

    # -- sources -------------------------------------------------------------------------
    def start(self) -> None:
        self._timer.start()

    def set_source(self, source: FrameSource | None, *, opened: bool = False) -> None:
        """Stop the current source and start reading `source` (None: no source);
        `opened`: it is open already."""
        self._stop_runner()
        self.still_name = ""
        self._reset_picture()
        if source is not None:
            self.runner = SourceRunner(source, opened=opened)
            self.runner.start()
        self._poll_status(force=True)

    def show_still(self, image: Frame, name: str) -> None:
        """Make an opened image the live picture (the files source)."""
        if self.runner is not None:
            self._stop_runner()
        if self.still_name == "":
            self._reset_picture()
        self.still_name = name
        self._generation = self.worker.abort()
        self.latest = None
        self._pending_capture = None
        if self.active:
            self.view.show_cells(None)  # the last image's cells are not this one's
        self.slot.put(image, name)
        self._poll_status(force=True)
        self.tick()

    def reconnect(self) -> None:
        if self.runner is not None:
            self.runner.reconnect()
            self._poll_status(force=True)

    def status(self) -> SourceStatus | None:
        return None if self.runner is None else self.runner.status()

    def can_capture(self) -> bool:
        """Whether the picture is live now: the source delivers, or an image is open."""
        if self.runner is None:
            return bool(self.still_name)
        return self.runner.status().state is SourceState.RUNNING

    @property
    def streaming(self) -> bool:
        return self.runner is not None

    def set_active(self, active: bool) -> None:
        """Show live frames (True) or leave the picture to a captured field (False)."""
        self.active = active
        if active:
            self._shown_seq = 0  # show the newest frame at once
            self.view.show_cells(self._fresh_cells())
            self.tick()

    def shutdown(self) -> None:
        self._timer.stop()
        self._pending_capture = None
        self._stop_runner()

    # -- capture -------------------------------------------------------------------------
    def capture(self, done: CaptureCallback) -> str:
        """Hand the current frame and its cells to `done`, now or when they are analysed.

        Returns "now", "pending" (waiting for the frame's analysis) or "" (no frame).
        """
        frame = self.newest()
        if frame is None:
            return ""
        if self.worker.state not in ("loading", "ready"):
            empty = Field.create([], frame.image.shape[1], frame.image.shape[0], frame.source)
            done(frame.image, empty)  # no models: the technician adds cells by hand
            return "now"
        result = self.latest
        if result is not None and self._capturable(result, frame):
            done(result.frame.image, result.field)
            return "now"
        self._pending_capture = done
        if self._submitted_seq != frame.seq and frame.t > self._moved_t:
            self.worker.submit(frame)
            self._submitted_seq = frame.seq
        return "pending"

    def cancel_capture(self) -> None:
        self._pending_capture = None

    def move_stage(self, direction: str, *, whole: bool = False) -> bool:
        """Move the source's stage one arrow key's step; False when it has none. Frames
        and results from before the move are not captured any more."""
        source = None if self.runner is None else self.runner.source
        if not isinstance(source, MovableStage):
            return False
        info = source.info
        source.move_stage(*stage_step(direction, info.width, info.height, whole=whole))
        self._moved_t = time.monotonic() + STAGE_SETTLE_S
        return True

    def _capturable(self, result: InferenceResult, frame: StampedFrame) -> bool:
        if result.frame.t <= self._moved_t:
            return False  # the stage moved since
        if result.frame.seq == frame.seq:
            return True
        return self.streaming and time.monotonic() - result.frame.t <= FRESH_S

    # -- the timer -----------------------------------------------------------------------
    def newest(self) -> StampedFrame | None:
        """The newest frame of the source (or the opened image)."""
        return self.runner.latest() if self.runner is not None else self.slot.get()

    def tick(self) -> None:
        frame = self.newest()
        if frame is not None and frame.seq != self._shown_seq and self.active:
            self._shown_seq = frame.seq
            self.view.show_frame(frame.image)
            self.shown.tick()
            self.shown_count += 1
            if frame.seq != self._submitted_seq:
                self.worker.submit(frame)
                self._submitted_seq = frame.seq
        now = time.monotonic()
        if now >= self._status_due:
            self._status_due = now + STATUS_EVERY_S
            self._poll_status()

    def _poll_status(self, force: bool = False) -> None:
        status = self.status()
        key = None if status is None else (status.state, status.message)
        if force or key != self._last_status:
            self._last_status = key
            self.source_status.emit(status)
        ms = None if self.latest is None else self.latest.elapsed_s * 1000
        source_fps = status.fps if status is not None else 0.0
        self.rates.emit(self.shown.rate() if self.active else 0.0, source_fps, ms)

    # -- results -------------------------------------------------------------------------
    def _on_result(self, result: InferenceResult) -> None:
        if result.generation != self._generation:
            return  # analysed before the source changed; it was on its way when it did
        if result.frame.seq < (0 if self.latest is None else self.latest.frame.seq):
            return
        self.latest = result
        pending = self._pending_capture
        if pending is not None and result.frame.t > self._moved_t:
            self._pending_capture = None
            pending(result.frame.image, result.field)
        if self.active:
            self.view.show_cells(result.field)
            self.lags_ms.append((time.monotonic() - result.frame.t) * 1000)
            self.result_shown.emit(result)

    def _fresh_cells(self) -> Field | None:
        frame = self.newest()
        result = self.latest
        if frame is None or result is None:
            return None
        return result.field if self._capturable(result, frame) else None

    def _reset_picture(self) -> None:
        self._generation = self.worker.abort()
        self.slot.clear()
        self.latest = None
        self._pending_capture = None
        self._shown_seq = self._submitted_seq = 0
        self.shown.reset()
        self.view.show_cells(None)

    def _stop_runner(self) -> None:
        runner, self.runner = self.runner, None
        if runner is not None:
            runner.stop()
