"""A frame source as the station sees it: read on `hemoscope.capture`'s `CaptureThread`,
reconnected after a loss, described for the status bar. No Qt here.

The `CaptureThread` reads the source on its own thread and keeps only the newest frame;
nothing is signalled per frame. The GUI's timer calls `latest()` (the newest frame,
stamped) and `poll()`, which restarts a lost or unopenable source every `retry_s`
seconds (`reconnect()` does it at once: the Reconnect button). Frames already captured
into the case are untouched: the runner knows nothing about cases.

States for the station: OPENING and FAILED before the source ever delivered; RUNNING;
LOST from a loss until it delivers again (reopen attempts included, so the banner does
not flicker between attempts); STOPPED.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from hemoscope.capture.capture_thread import CaptureThread
from hemoscope.capture.source import FrameSource, SourceInfo
from hemoscope.ui.live.frames import StampedFrame

__all__ = ["RETRY_S", "SourceRunner", "SourceState", "SourceStatus"]

log = logging.getLogger(__name__)

RETRY_S = 2.0
JOIN_TIMEOUT_S = 5.0


class SourceState(enum.Enum):
    STOPPED = "stopped"
    OPENING = "opening"
    RUNNING = "running"
    LOST = "lost"  # was running; trying to reopen
    FAILED = "failed"  # never opened; trying again


@dataclass(frozen=True)
class SourceStatus:
    """A snapshot for the status bar and the banner."""

    state: SourceState
    info: SourceInfo | None
    message: str
    fps: float  # frames delivered per second
    attempts: int  # reopen attempts since the source was lost or failed (0 while running)
    name: str = "source"  # the source's name, also before it is open


class SourceRunner:
    """Owns one source and the capture thread that reads it."""

    def __init__(
        self,
        source: FrameSource,
        *,
        opened: bool = False,
        retry_s: float = RETRY_S,
        clock: Callable[[], float] = time.monotonic,
        thread_name: str = "hemoscope-capture",
    ) -> None:
        """`opened`: the source is open already (as `open_best_source` returns it)."""
        self.source = source
        self._retry_s = retry_s
        self._clock = clock
        self._lock = threading.Lock()
        self._info: SourceInfo | None = source.info if opened else None
        self._thread = CaptureThread(
            source,
            open_source=not opened,
            on_opened=self._opened,
            on_lost=self._on_lost,
            name=thread_name,
        )
        self._lost = False  # delivered once, then lost: LOST until it delivers again
        self._attempts = 0
        self._next_retry = 0.0
        self._down = False  # lost or failed, seen by `poll`
        self._stopped = True
        self._stamped: StampedFrame | None = None

    # -- control (GUI thread) ---------------------------------------------------------
    def start(self) -> None:
        self._stopped = False
        if not self._thread.running:
            self._thread.start()

    def stop(self, timeout_s: float = JOIN_TIMEOUT_S) -> bool:
        """Stop reading, close the source and join the thread; False if it hung."""
        self._stopped = True
        return self._thread.stop(timeout_s)

    def reconnect(self) -> None:
        """Open the source again now (no effect while it runs)."""
        if self._stopped or self._thread.state in ("opening", "running"):
            return
        self._attempts += 1
        self._next_retry = self._clock() + self._retry_s
        log.info("reopening %s (attempt %d)", self._name(), self._attempts)
        self._thread.start()

    def poll(self) -> None:
        """Called on the GUI's timer: retry a lost or unopenable source when it is due."""
        state = self._thread.state
        if state == "running":
            self._lost = False
            self._attempts = 0
            self._down = False
        elif state in ("lost", "failed") and not self._stopped:
            if state == "lost":
                self._lost = True
            if not self._down:  # just went down: give the device a moment first
                self._down = True
                self._next_retry = self._clock() + self._retry_s
            elif self._clock() >= self._next_retry:
                self.reconnect()

    def latest(self) -> StampedFrame | None:
        """The newest frame (the same object until a newer one arrives)."""
        newest = self._thread.latest()
        if newest.frame is None:
            return None
        stamped = self._stamped
        if stamped is None or stamped.seq != newest.number:
            stamped = StampedFrame(newest.frame, newest.number, newest.t, self._name())
            self._stamped = stamped
        return stamped

    def status(self) -> SourceStatus:
        self.poll()
        thread = self._thread
        error = thread.error
        message = "" if error is None else str(error)
        state = {
            "running": SourceState.RUNNING,
            "opening": SourceState.OPENING,
            "failed": SourceState.FAILED,
            "lost": SourceState.LOST,
        }.get(thread.state, SourceState.STOPPED)
        if self._lost and state in (SourceState.OPENING, SourceState.FAILED):
            state = SourceState.LOST  # still trying to get it back
        if self._stopped:
            state = SourceState.STOPPED
        with self._lock:
            info = self._info
        return SourceStatus(state, info, message, thread.fps, self._attempts, self._name())

    @property
    def running(self) -> bool:
        return self._thread.running

    # -- internals ---------------------------------------------------------------------
    def _opened(self, info: SourceInfo) -> None:  # on the capture thread
        with self._lock:
            self._info = info

    def _on_lost(self, error: Exception) -> None:  # on the capture thread
        if self._thread.state == "lost":
            self._lost = True

    def _name(self) -> str:
        with self._lock:
            info = self._info
        if info is None:
            try:
                info = self.source.info  # a name, at least, before the source is open
            except Exception:
                return type(self.source).__name__
        return info.name
