"""Run a frame source in a background thread and keep only its newest frame (no Qt).

The GUI polls :meth:`CaptureThread.latest` on a QTimer (as pymmcore-widgets' image widget
does) and hands the newest frame to the inference worker; frames nobody looked at are
simply replaced. The thread owns the source while it runs: it opens it (a camera may take
a second or two, which must not block the GUI), reads it, and closes it when it ends, so
the source is only ever touched from one thread at a time.

Losing the source: when ``read`` raises `SourceError` (`SourceLost`: unplugged camera,
end of a video without looping) or ``open`` fails, the thread ends, `state` becomes
"lost" or "failed", `error` holds the exception, and ``on_lost(error)`` is called *from
the capture thread* (in Qt, emit a signal from it). The last frame stays available from
`latest`, and the case is untouched. To reconnect, call :meth:`CaptureThread.start`
again: it opens the source afresh. Any other exception from the source is logged with its
traceback and reported the same way, wrapped in `SourceLost`.

Still images: a source returns the very same array object to say "nothing new" (see
`ImageFolderSource`); such a frame is not counted as a new one.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import NamedTuple

from hemoscope.capture.source import Frame, FrameSource, SourceError, SourceInfo, SourceLost

log = logging.getLogger(__name__)


class LatestFrame(NamedTuple):
    """The newest frame, its number (1, 2, ...; 0 before the first) and arrival time."""

    frame: Frame | None
    number: int
    t: float  # time.monotonic() when it arrived; 0.0 before the first frame


class CaptureThread:
    """Reads a `FrameSource` in a daemon thread; thread-safe getters for the newest frame."""

    def __init__(
        self,
        source: FrameSource,
        *,
        on_lost: Callable[[SourceError], None] | None = None,
        on_opened: Callable[[SourceInfo], None] | None = None,
        open_source: bool = True,
        fps_window: float = 1.0,
        name: str = "hemoscope-capture",
    ) -> None:
        """With `open_source` False the source must already be open (the first run only:
        a restart always opens it again). `fps_window` is the span, in seconds, over which
        `fps` counts delivered frames."""
        self.source = source
        self.on_lost = on_lost
        self.on_opened = on_opened
        self.name = name
        self._open_first = open_source
        self._window = fps_window
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._latest = LatestFrame(None, 0, 0.0)
        self._arrivals: collections.deque[float] = collections.deque(maxlen=1000)
        self._state = "idle"
        self._error: SourceError | None = None

    @property
    def state(self) -> str:
        """ "idle", "opening", "running", "stopped", "lost" (read failed) or "failed" (open)."""
        return self._state

    @property
    def error(self) -> SourceError | None:
        """Why the thread ended, when `state` is "lost" or "failed"."""
        return self._error

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start (or, after a stop or a loss, restart) reading in a new thread.

        May be called as soon as `state` is "lost", "failed" or "stopped" (from a queued
        reaction to ``on_lost``, say), but not from inside the ``on_lost`` callback."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            if thread is threading.current_thread():
                raise RuntimeError(f"{self.name}: call start() from another thread")
            if self._state in ("opening", "running"):
                raise RuntimeError(f"{self.name} is already running")
            thread.join()  # it has ended its work and is only returning
        self._stop.clear()
        self._error = None
        self._state = "opening"
        open_source, self._open_first = self._open_first, True
        self._thread = threading.Thread(
            target=self._run, args=(open_source,), name=self.name, daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the thread to end, wait for it (and for it to close the source); True if it
        ended within `timeout` seconds. Safe to call when not running."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            log.warning("%s did not end within %.1f s (blocked in the source)", self.name, timeout)
            return False
        return True

    def latest(self) -> LatestFrame:
        """The newest frame (never blocks)."""
        with self._cond:
            return self._latest

    def wait_for_frame(self, after: int = 0, timeout: float = 1.0) -> LatestFrame | None:
        """Block until a frame numbered above `after` arrives; None on timeout or when the
        thread ends first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._latest.number <= after:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (not self.running and self._state != "opening"):
                    return None
                self._cond.wait(min(remaining, 0.05))
            return self._latest

    @property
    def fps(self) -> float:
        """Frames delivered per second over the last `fps_window` seconds (0 if none)."""
        now = time.monotonic()
        with self._cond:
            recent = [t for t in self._arrivals if now - t <= self._window]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-9)

    def __enter__(self) -> CaptureThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self, open_source: bool) -> None:
        error: SourceError | None = None
        phase = "open"
        try:
            if open_source:
                info = self.source.open()
                if self.on_opened is not None:
                    self.on_opened(info)
            phase = "read"
            self._state = "running"
            previous: Frame | None = None
            while not self._stop.is_set():
                frame = self.source.read()
                if frame is not previous:
                    previous = frame
                    self._publish(frame)
        except SourceError as exc:
            error = exc
        except Exception as exc:
            log.exception("%s: the source failed unexpectedly", self.name)
            error = SourceLost(f"{self.source.info.name} failed: {exc}")
            error.__cause__ = exc
        try:
            self.source.close()
        except Exception:
            log.exception("%s: closing the source failed", self.name)
        self._finish(error, phase)

    def _publish(self, frame: Frame) -> None:
        now = time.monotonic()
        with self._cond:
            self._latest = LatestFrame(frame, self._latest.number + 1, now)
            self._arrivals.append(now)
            self._cond.notify_all()

    def _finish(self, error: SourceError | None, phase: str) -> None:
        if self._stop.is_set():  # asked to stop: whatever the source did then is no loss
            error = None
        with self._cond:
            self._error = error
            if error is None:
                self._state = "stopped"
            else:
                self._state = "failed" if phase == "open" else "lost"
            self._cond.notify_all()
        if error is None:
            return
        log.warning("%s %s: %s", self.name, self._state, error)
        if self.on_lost is not None:
            try:
                self.on_lost(error)
            except Exception:
                log.exception("%s: the on_lost callback failed", self.name)
