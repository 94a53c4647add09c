"""Stamped frames, a one-frame mailbox, and a rate meter. No Qt here.

`StampedFrame` is a frame as the station passes it round: its number, arrival time and
source name. `LatestFrame` is a one-frame mailbox (writers replace, readers peek) used for
opened still images; streaming sources keep their newest frame in `hemoscope.capture`'s
`CaptureThread`. The live view pulls either on a timer and compares numbers to know
whether there is anything new to show, as the image widget of pymmcore-widgets does.
`RateMeter` measures events per second over a sliding window (frames shown).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Frame", "LatestFrame", "RateMeter", "StampedFrame"]

Frame = npt.NDArray[np.uint8]


@dataclass(frozen=True, eq=False)
class StampedFrame:
    """A frame, its number in the order frames arrived (from 1), when it arrived
    (``time.monotonic()``, as `CaptureThread` stamps frames) and where it came from (for
    `Field.source`)."""

    image: Frame
    seq: int
    t: float
    source: str


class LatestFrame:
    """A one-frame mailbox: writers replace, readers peek. Thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._frame: StampedFrame | None = None
        self._seq = 0
        self._clock = clock

    def put(self, image: Frame, source: str = "") -> StampedFrame:
        """Make `image` the newest frame; returns it stamped."""
        with self._lock:
            self._seq += 1
            frame = StampedFrame(image, self._seq, self._clock(), source)
            self._frame = frame
        return frame

    def get(self) -> StampedFrame | None:
        """The newest frame, or None before the first one (or after `clear`)."""
        with self._lock:
            return self._frame

    @property
    def seq(self) -> int:
        """Number of the newest frame (0 before the first)."""
        with self._lock:
            return self._seq

    def clear(self) -> None:
        """Forget the frame (a new source starts); sequence numbers keep increasing."""
        with self._lock:
            self._frame = None


class RateMeter:
    """Events per second over the last `window_s` seconds. Thread-safe."""

    def __init__(self, window_s: float = 2.0, clock: Callable[[], float] = time.monotonic):
        if window_s <= 0:
            raise ValueError("window_s must be > 0")
        self._window = window_s
        self._clock = clock
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def tick(self, t: float | None = None) -> None:
        now = self._clock() if t is None else t
        with self._lock:
            self._times.append(now)
            self._trim(now)

    def rate(self) -> float:
        """Events per second; 0 with fewer than two events in the window."""
        now = self._clock()
        with self._lock:
            self._trim(now)
            if len(self._times) < 2:
                return 0.0
            span = now - self._times[0]
            # n events spread over the window: (n - 1) intervals between the first and
            # the last, extended to now so that a stalled stream decays towards 0.
            return (len(self._times) - 1) / span if span > 0 else 0.0

    def reset(self) -> None:
        with self._lock:
            self._times.clear()

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] > self._window:
            self._times.popleft()
