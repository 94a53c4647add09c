"""A short computation on a thread of Qt's pool, its result handed back on the GUI thread
(by a queued signal): so that work like registering a captured field never blocks the
picture. A task started again before the last one answered makes that answer stale: it
is dropped (`cancel` does the same)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

__all__ = ["PoolTask"]

log = logging.getLogger(__name__)


class PoolTask(QObject):
    _finished = Signal(int, object, object)  # run number, result, error (from the pool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._number = 0
        self._done: Callable[[Any], None] | None = None
        self._failed: Callable[[BaseException], None] | None = None
        self._finished.connect(self._deliver)

    def run(
        self,
        work: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        """Call `work()` on the pool, then `done(result)` (or `failed(error)`) here."""
        self._number += 1
        number = self._number
        self._done, self._failed = done, failed

        def job() -> None:
            try:
                result = work()
            except Exception as error:  # reported on the GUI thread
                log.exception("a background task failed")
                self._finished.emit(number, None, error)
                return
            self._finished.emit(number, result, None)

        QThreadPool.globalInstance().start(job)

    def cancel(self) -> None:
        self._number += 1

    def _deliver(self, number: int, result: object, error: object) -> None:
        if number != self._number:
            return  # cancelled, or another run started since
        done, failed = self._done, self._failed
        self._done = self._failed = None
        if isinstance(error, BaseException):
            if failed is not None:
                failed(error)
        elif done is not None:
            done(result)
