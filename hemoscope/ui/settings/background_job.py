"""One piece of work on a thread of its own for a dialog, its news on the GUI thread.

The adapt and calibrate dialogs (Settings ▸ Models) both read the case database and run
the models for seconds to minutes; `BackgroundJob` runs such work on a named thread and
relays its progress ``(text, done, total)`` and its outcome to the GUI thread through
queued signals. A dialog closed mid-run calls `abandon`: the work ends on its own and
its outcome is dropped.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel, QProgressBar

Say = Callable[[str, int, int], None]

__all__ = ["BackgroundJob", "Say"]


class BackgroundJob(QObject):
    progress = Signal(str, int, int)
    done = Signal(object)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._thread: threading.Thread | None = None
        self.done.connect(self._joined)

    @property
    def started(self) -> bool:
        """A run has started and its outcome has not reached the GUI thread yet."""
        return self._thread is not None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, work: Callable[[Say], Any]) -> bool:
        """Run ``work(say)`` on the job's thread; False when a run is under way."""
        if self._thread is not None:
            return False
        progress, done = self.progress, self.done

        def say(text: str, step: int, total: int) -> None:
            # RuntimeError: the dialog (and this job with it) was deleted meanwhile.
            with contextlib.suppress(RuntimeError):
                progress.emit(text, step, total)

        def run() -> None:
            outcome = work(say)
            with contextlib.suppress(RuntimeError):
                done.emit(outcome)

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        return True

    def show_progress(self, status: QLabel, bar: QProgressBar) -> None:
        """Say the job's news in ``status`` and ``bar`` (busy until a total is known)."""

        def shown(text: str, step: int, total: int) -> None:
            status.setText(text)
            bar.setRange(0, total)
            bar.setValue(step)

        self.progress.connect(shown)

    def begin(self, bar: QProgressBar, work: Callable[[Say], Any]) -> bool:
        """`start` with ``bar`` shown busy (the dialog disables its own buttons)."""
        if self._thread is not None:
            return False
        bar.setVisible(True)
        bar.setRange(0, 0)
        return self.start(work)

    def abandon(self, receiver: Callable[[Any], None]) -> None:
        """Stop delivering the outcome to ``receiver`` (the dialog is closing mid-run)."""
        if self._thread is not None:
            self.done.disconnect(receiver)

    def _joined(self, _outcome: object) -> None:
        if self._thread is not None:
            self._thread.join()
        self._thread = None
