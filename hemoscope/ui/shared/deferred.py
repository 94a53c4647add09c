"""Coalesced, deferred refreshes: work that can wait for the next turn of the event loop.

A capture or a correction changes the case once, but several views redraw from it. The
urgent ones (the picture, the counts) update at once; the slower ones (the gallery's
thumbnails, the chart) ask a `Deferred` to run on the next turn, so that the event loop
gets to breathe in between (the heartbeat target: never blocked more than 50 ms), and
several changes in one turn cost one redraw. A hidden view does not redraw at all until
it is shown.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QWidget

__all__ = ["Deferred"]


class Deferred(QObject):
    def __init__(self, run: Callable[[], None], *, widget: QWidget, delay_ms: int = 0) -> None:
        super().__init__(widget)
        self._run = run
        self._widget = widget
        self.pending = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._fire)

    def request(self) -> None:
        """Run soon (once, however often asked); not before the widget is visible."""
        self.pending = True
        if self._widget.isVisible():
            self._timer.start()

    def shown(self) -> None:
        """The widget became visible: catch up."""
        if self.pending:
            self._timer.start()

    def flush(self) -> None:
        """Run now if anything is pending (tests, and before reading the view's state)."""
        if self.pending:
            self._fire()

    def _fire(self) -> None:
        self._timer.stop()
        if self.pending:
            self.pending = False
            self._run()
