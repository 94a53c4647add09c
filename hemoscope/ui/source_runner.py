"""Read a `FrameSource` on a thread of its own into a `LatestFrame`. No Qt here.

The runner opens the source, then reads as fast as the source delivers (the source paces
itself), putting each frame into the mailbox. Nothing is signalled per frame: the GUI
polls `status()` and the mailbox on its display timer.

When the source raises `SourceLost` (an unplugged camera) the runner closes it and tries
to open it again every `retry_s` seconds, or at once when `reconnect()` is called; frames
already captured into the case are untouched, since the runner knows nothing about cases.
A source that cannot be opened at all is reported as FAILED and retried the same way.
"""

from __future__ import annotations

import enum
import logging
import threading
from dataclasses import dataclass

from hemoscope.capture.source import FrameSource, SourceError, SourceInfo, SourceLost
from hemoscope.ui.frames import LatestFrame, RateMeter

__all__ = ["SourceRunner", "SourceState", "SourceStatus"]

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
    fps: float
    attempts: int  # reopen attempts since the source was lost (0 while running)


class SourceRunner:
    """Owns one source and the thread that reads it."""

    def __init__(
        self,
        source: FrameSource,
        slot: LatestFrame,
        *,
        retry_s: float = RETRY_S,
        thread_name: str = "hemoscope-capture",
    ) -> None:
        self.source = source
        self._slot = slot
        self._retry_s = retry_s
        self._thread_name = thread_name
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = SourceState.STOPPED
        self._info: SourceInfo | None = None
        self._message = ""
        self._attempts = 0
        self._meter = RateMeter()

    # -- control (GUI thread) ---------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._set(SourceState.OPENING, "opening…")
        self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
        self._thread.start()

    def reconnect(self) -> None:
        """Try to reopen now instead of at the next retry (no effect while running)."""
        self._wake.set()
        if self._thread is None or not self._thread.is_alive():
            self.start()

    def stop(self, timeout_s: float = JOIN_TIMEOUT_S) -> bool:
        """Stop reading, close the source and join the thread; False if it hung."""
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)
            if thread.is_alive():
                log.error("the source %r did not stop within %.1f s", self._name(), timeout_s)
                return False
        self._set(SourceState.STOPPED, "")
        return True

    def status(self) -> SourceStatus:
        with self._lock:
            return SourceStatus(
                self._state, self._info, self._message, self._meter.rate(), self._attempts
            )

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the thread ----------------------------------------------------------------
    def _run(self) -> None:
        ever_opened = False
        try:
            while not self._stop.is_set():
                if not self._open(ever_opened):
                    self._pause()
                    continue
                ever_opened = True
                self._read_until_lost()
                self._close()
                if not self._stop.is_set():
                    self._pause()
        finally:
            self._close()

    def _open(self, ever_opened: bool) -> bool:
        try:
            info = self.source.open()
        except SourceError as error:
            self._failed(ever_opened, str(error))
            return False
        except Exception as error:  # a bug in a source must not kill the thread silently
            log.exception("opening the source failed")
            self._failed(ever_opened, f"unexpected error: {error}")
            return False
        with self._lock:
            self._info = info
            self._state = SourceState.RUNNING
            self._message = ""
            self._attempts = 0
        self._meter.reset()
        log.info("source open: %s (%dx%d)", info.name, info.width, info.height)
        return True

    def _failed(self, ever_opened: bool, message: str) -> None:
        with self._lock:
            self._state = SourceState.LOST if ever_opened else SourceState.FAILED
            self._message = message
            self._attempts += 1
        log.warning("source %s: %s", self._name(), message)

    def _read_until_lost(self) -> None:
        name = self._name()
        while not self._stop.is_set():
            try:
                frame = self.source.read()
            except SourceLost as error:
                self._lost(str(error))
                return
            except Exception as error:
                log.exception("reading the source failed")
                self._lost(f"unexpected error: {error}")
                return
            self._slot.put(frame, name)
            self._meter.tick()

    def _lost(self, message: str) -> None:
        with self._lock:
            self._state = SourceState.LOST
            self._message = message
        log.warning("source %s lost: %s", self._name(), message)

    def _close(self) -> None:
        try:
            self.source.close()
        except Exception:
            log.exception("closing the source failed")

    def _pause(self) -> None:
        self._wake.wait(self._retry_s)
        self._wake.clear()

    def _set(self, state: SourceState, message: str) -> None:
        with self._lock:
            self._state = state
            self._message = message
            if state is SourceState.STOPPED:
                self._attempts = 0

    def _name(self) -> str:
        with self._lock:
            info = self._info
        return info.name if info is not None else type(self.source).__name__
