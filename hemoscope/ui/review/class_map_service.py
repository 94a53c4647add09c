"""The class activation maps of the case's cells, computed on Qt's thread pool and kept.

`ClassMapService.maps` answers at once from the cache; `request` asks for the cells not
there yet: they are cut and run through the loaded classifier (`vision.class_maps.
cell_maps`) on a thread of Qt's pool, never on the GUI thread, and `ready` is emitted (on
the GUI thread, by a queued signal) for each cell once its maps are in the cache. A cell
is computed again only when its box changed. Without a loaded classifier nothing is
computed and `available` is False.

One service serves the station (review, gallery, report): the review controller owns it,
the others find it (`find_service`).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QEventLoop, QObject, QThreadPool, QTimer, Signal

from hemoscope.core import Box, Cell, Field, Taxonomy
from hemoscope.vision.class_maps import CellMaps, cell_maps, field_rbc
from hemoscope.vision.model_card import ModelError
from hemoscope.vision.pipeline_parts import classifier_ids

__all__ = ["CACHE_CELLS", "ClassMapService", "MapKey", "find_service"]

log = logging.getLogger(__name__)

CACHE_CELLS = 512
MapKey = tuple[str, str, Box]  # field id, cell id, the box the maps are of
Image = npt.NDArray[np.uint8]


class ClassMapService(QObject):
    ready = Signal(str, str)  # field id, cell id: its maps are in the cache
    _done = Signal(object, object)  # keys, list of CellMaps or an error (from the pool)

    def __init__(
        self,
        classifier_of: Callable[[], Any],
        taxonomy_of: Callable[[], Taxonomy],
        parent: QObject | None = None,
    ) -> None:
        """`classifier_of`: the loaded classifier (`vision.classifier.Classifier`), or
        None while there is none; `taxonomy_of`: the station's cell taxonomy."""
        super().__init__(parent)
        self.setObjectName("classMapService")
        self._classifier_of = classifier_of
        self._taxonomy_of = taxonomy_of
        self._cache: OrderedDict[MapKey, CellMaps] = OrderedDict()
        self._pending: set[MapKey] = set()
        self.seconds_per_cell: float | None = None  # the last computation's cost
        self._done.connect(self._arrived)

    @property
    def available(self) -> bool:
        classifier = self._classifier_of()
        return classifier is not None and callable(getattr(classifier, "class_maps", None))

    def maps(self, field_id: str, cell: Cell) -> CellMaps | None:
        found = self._cache.get((field_id, cell.id, cell.box))
        if found is not None:
            self._cache.move_to_end((field_id, cell.id, cell.box))
        return found

    def pending(self, field_id: str, cell: Cell) -> bool:
        return (field_id, cell.id, cell.box) in self._pending

    def request(self, field: Field, cells: Iterable[Cell], image: Image | None) -> bool:
        """Compute the maps of `cells` of `field` (its BGR `image`) not cached yet; whether
        any computation is under way for them (False: all cached, or no classifier)."""
        classifier = self._classifier_of()
        if image is None or not self.available:
            return False
        wanted = [c for c in cells if (field.id, c.id, c.box) not in self._cache]
        todo = [c for c in wanted if (field.id, c.id, c.box) not in self._pending]
        if todo:
            try:
                ids = classifier_ids(classifier.classes, self._taxonomy_of())
            except (ModelError, AttributeError) as error:
                log.warning("no class maps: %s", error)
                return False
            keys = [(field.id, c.id, c.box) for c in todo]
            self._pending.update(keys)
            boxes = [c.box for c in todo]
            rbc = field_rbc(field)
            QThreadPool.globalInstance().start(
                lambda: self._compute(classifier, image, boxes, ids, rbc, keys)
            )
        return bool(wanted)

    def wait(self, field: Field, cells: list[Cell], image: Image | None, timeout_ms: int) -> None:
        """Request the maps of `cells` and wait for them (the GUI's events go on meanwhile:
        the computation is still on the pool), at most `timeout_ms`."""
        if not self.request(field, cells, image):
            return
        loop = QEventLoop()

        def check(*_args: object) -> None:
            if not any(self.pending(field.id, c) for c in cells):
                loop.quit()

        timer = QTimer()
        timer.setSingleShot(True)
        timer.timeout.connect(loop.quit)
        self.ready.connect(check)
        timer.start(timeout_ms)
        if any(self.pending(field.id, c) for c in cells):
            loop.exec()
        timer.stop()
        self.ready.disconnect(check)

    def _compute(
        self,
        classifier: Any,
        image: Image,
        boxes: list[Box],
        ids: tuple[str, ...],
        rbc: float | None,
        keys: list[MapKey],
    ) -> None:
        try:
            t0 = time.perf_counter()
            result: object = cell_maps(classifier, image, boxes, ids, rbc=rbc)
            self.seconds_per_cell = (time.perf_counter() - t0) / max(1, len(boxes))
        except Exception as error:  # the cell is shown without its map
            log.exception("computing class activation maps")
            result = error
        self._done.emit(keys, result)

    def _arrived(self, keys: list[MapKey], result: object) -> None:
        self._pending.difference_update(keys)
        if not isinstance(result, list):
            for field_id, cell_id, _box in keys:
                self.ready.emit(field_id, cell_id)  # nothing came: callers stop waiting
            return
        for key, maps in zip(keys, result, strict=True):
            self._cache[key] = maps
        while len(self._cache) > CACHE_CELLS:
            self._cache.popitem(last=False)
        for field_id, cell_id, _box in keys:
            self.ready.emit(field_id, cell_id)

    def clear(self) -> None:
        """Forget every map (another classifier or laboratory profile was loaded)."""
        self._cache.clear()


def find_service(widget: QObject | None) -> ClassMapService | None:
    """The station's service, looked up from any object of its window (the gallery, the
    report actions); None outside a station."""
    top = widget
    while top is not None and top.parent() is not None:
        top = top.parent()
    if top is None:
        return None
    found = top.findChild(ClassMapService, "classMapService")
    return found if isinstance(found, ClassMapService) else None
