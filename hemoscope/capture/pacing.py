"""Pace a frame source to its nominal rate with the monotonic clock.

Deadlines are absolute (``start + k / fps``), so sleeping a little too long on one frame
does not slow every later frame down: the error does not accumulate. A reader that falls
more than one frame behind (a slow consumer, a suspended laptop) starts a new schedule
from now instead of bursting through the frames it missed.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    """Blocks in :meth:`wait` until the next frame is due."""

    def __init__(
        self,
        fps: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if fps < 0:
            raise ValueError(f"fps must not be negative, got {fps}")
        self.fps = fps
        self._clock = clock
        self._sleep = sleep
        self._start: float | None = None
        self._ticks = 0

    def reset(self) -> None:
        """Start a new schedule at the next :meth:`wait` (after opening or seeking)."""
        self._start = None
        self._ticks = 0

    def wait(self) -> float:
        """Sleep until the next frame is due; return the time it was due (clock seconds).

        The first call after construction or :meth:`reset` returns at once. With fps 0
        there is no pacing at all.
        """
        now = self._clock()
        if self.fps <= 0:
            return now
        period = 1.0 / self.fps
        if self._start is None:
            self._start, self._ticks = now, 0
            return now
        self._ticks += 1
        due = self._start + self._ticks * period
        if now > due + period:  # fell behind by more than one frame: resynchronise
            self._start, self._ticks = now, 0
            return now
        if due > now:
            self._sleep(due - now)
        return due
