"""A plain-text progress bar on stderr (no tqdm: that is a training extra only).

On a terminal the bar is redrawn in place (at most ~10 times a second); otherwise (a log
file, a pipe) one line is written at every tenth of the work, so logs stay short.
Messages written with :meth:`Progress.message` appear on their own line above the bar.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress", "step_bar"]

BAR_WIDTH = 28
REDRAW_S = 0.1


class Progress:
    """Progress over ``total`` items; ``enabled=False`` makes it silent (messages still go)."""

    def __init__(
        self,
        total: int,
        *,
        label: str = "",
        enabled: bool = True,
        stream: TextIO | None = None,
    ) -> None:
        self.total = max(0, total)
        self.label = label
        self.enabled = enabled and self.total > 0
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.failed = 0
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._last_tenth = -1
        self._drawn = False

    def advance(self, failed: bool = False) -> None:
        self.done = min(self.total, self.done + 1)
        self.failed += int(failed)
        if not self.enabled:
            return
        now = time.monotonic()
        if self._tty:
            if now - self._last_draw >= REDRAW_S or self.done == self.total:
                self._last_draw = now
                self.stream.write("\r" + self.line())
                self.stream.flush()
                self._drawn = True
            return
        tenth = 10 * self.done // self.total
        if tenth != self._last_tenth:
            self._last_tenth = tenth
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def message(self, text: str) -> None:
        """Write one line above the bar (the bar is redrawn on the next advance)."""
        if self._drawn:
            self.stream.write("\r\033[K")
            self._drawn = False
            self._last_draw = 0.0
        self.stream.write(text.rstrip("\n") + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def line(self) -> str:
        frac = self.done / self.total if self.total else 1.0
        filled = round(BAR_WIDTH * frac)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        elapsed = time.monotonic() - self._start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        failed = f", {self.failed} failed" if self.failed else ""
        prefix = f"{self.label} " if self.label else ""
        return (
            f"{prefix}[{bar}] {self.done}/{self.total} ({frac:4.0%}){failed}"
            f"  {rate:5.1f}/s  ETA {_clock(eta)}"
        )


def _clock(seconds: float) -> str:
    s = round(seconds)
    return (
        f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


def step_bar(total: int, label: str, quiet: bool) -> tuple[Progress, Callable[[int, int], None]]:
    """A bar of ``total`` steps and a ``step(done, of)`` callback that advances it to
    ``done`` of ``of`` in its own units (work reported in other units than the bar's)."""
    bar = Progress(total, label=label, enabled=not quiet)

    def step(done: int, of: int) -> None:
        target = min(bar.total, done * bar.total // max(1, of))
        while bar.done < target:
            bar.advance()

    return bar, step
