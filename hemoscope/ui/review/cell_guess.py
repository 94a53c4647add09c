"""The classifier's guess for a cell drawn by hand, so that the class menu can offer it
first (Enter takes it). The crop is classified on a thread of Qt's pool, never on the GUI
thread; the answer comes back by a queued signal, or `None` after `TIMEOUT_MS` (the menu
then opens without a guess). Without a loaded classifier the answer is `None` at once.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal

from hemoscope.core import Box

__all__ = ["TIMEOUT_MS", "CellGuesser"]

log = logging.getLogger(__name__)

TIMEOUT_MS = 600
Answer = Callable[[str | None], None]


class CellGuesser(QObject):
    _answered = Signal(int, object)  # request number, class id or None (from the pool)

    def __init__(self, classifier_of: Callable[[], Any], parent: QObject | None = None) -> None:
        """`classifier_of`: the loaded classifier (``classify_boxes(image, boxes)``), or
        None while there is none."""
        super().__init__(parent)
        self._classifier_of = classifier_of
        self._numbers = itertools.count(1)
        self._waiting: dict[int, Answer] = {}
        self._answered.connect(self._deliver)

    def guess(self, image: npt.NDArray[np.uint8], box: Box, then: Answer) -> None:
        """Call `then` with the classifier's class for `box` in `image` (BGR), or None."""
        classifier = self._classifier_of()
        if classifier is None or not callable(getattr(classifier, "classify_boxes", None)):
            then(None)
            return
        number = next(self._numbers)
        self._waiting[number] = then
        boxes = [list(box.as_tuple())]
        QThreadPool.globalInstance().start(lambda: self._run(number, classifier, image, boxes))
        QTimer.singleShot(TIMEOUT_MS, self, lambda: self._deliver(number, None))

    def _run(self, number: int, classifier: Any, image: object, boxes: object) -> None:
        label: str | None = None
        try:
            labels = classifier.classify_boxes(image, boxes).labels
            label = str(labels[0]) if len(labels) else None
        except Exception:  # a guess only: the menu opens without one
            log.exception("classifying a cell drawn by hand")
        self._answered.emit(number, label)

    def _deliver(self, number: int, label: object) -> None:
        then = self._waiting.pop(number, None)
        if then is not None:
            then(label if isinstance(label, str) else None)
