"""Where the open case lives: in the case database, or only in memory. No Qt here.

The station changes the case only through a `CaseBackend`, one user action per call.
Every call returns at once with the new case, computed by the core's own commands (the
very computation the store repeats), so the picture never waits for a disk:

- `StoreBackend` saves every action in the case database (`hemoscope.store.CaseStore`, one
  transaction each, with its audit records) on a thread of its own that owns the
  database connection, in the order the actions were made; field images are written on
  that thread first. A crash or power cut loses at most the action being written. A save
  that fails is reported through ``on_error`` (called on the store's thread); the writes
  queued after it are dropped (they build on it) until `reload` reads the case back from
  the database, which is then the truth again.
- `MemoryBackend` keeps the case in memory only; ``saves`` is False and the window says
  so ("not saved").

Undo is not kept here: the window's QUndoStack holds the bound commands and calls
`revert` and `apply(..., redo=True)`.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from hemoscope.core import AddField, Case, CaseInfo, Correction, Field
from hemoscope.store import CaseStore

__all__ = ["CaseBackend", "MemoryBackend", "StoreBackend"]

log = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]
ErrorCallback = Callable[[str], None]
CALL_TIMEOUT_S = 30.0


class CaseBackend(Protocol):
    saves: bool
    description: str
    on_error: ErrorCallback | None

    def create_case(self, info: CaseInfo) -> Case: ...

    def add_field(self, case: Case, field: Field, image: Image) -> tuple[Case, AddField]: ...

    def apply(
        self, case: Case, command: Correction, *, redo: bool = False
    ) -> tuple[Case, Correction]: ...

    def revert(self, case: Case, command: Correction) -> Case: ...

    def update_info(self, case: Case, info: CaseInfo) -> Case: ...

    def field_image(self, case: Case, field_id: str) -> Image | None: ...

    def reload(self, case: Case) -> Case: ...

    def flush(self, timeout_s: float = CALL_TIMEOUT_S) -> None: ...

    def close(self) -> None: ...


class MemoryBackend:
    """The case in memory only (nothing is written anywhere)."""

    saves = False
    description = "not saved (no case database)"

    def __init__(self) -> None:
        self._images: dict[str, Image] = {}
        self.on_error: ErrorCallback | None = None

    def create_case(self, info: CaseInfo) -> Case:
        return Case(info)

    def add_field(self, case: Case, field: Field, image: Image) -> tuple[Case, AddField]:
        command = AddField(field)
        after = command.apply(case)
        self._images[field.id] = image
        return after, command

    def apply(
        self, case: Case, command: Correction, *, redo: bool = False
    ) -> tuple[Case, Correction]:
        bound = command.bind(case)
        return bound.apply(case), bound

    def revert(self, case: Case, command: Correction) -> Case:
        return command.revert(case)

    def update_info(self, case: Case, info: CaseInfo) -> Case:
        return case.with_info(info)

    def field_image(self, case: Case, field_id: str) -> Image | None:
        return self._images.get(field_id)

    def reload(self, case: Case) -> Case:
        return case

    def flush(self, timeout_s: float = CALL_TIMEOUT_S) -> None:
        return None

    def close(self) -> None:
        return None


class StoreBackend:
    """The case database at `path`, written on the "hemoscope-store" thread.

    Opening happens on that thread too (SQLite connections belong to the thread that
    made them); a database that cannot be opened raises here, as `CaseStore.open` does.
    """

    saves = True

    def __init__(self, path: Path, *, operator: str, on_error: ErrorCallback | None = None) -> None:
        self.path = Path(path)
        self.operator = operator
        self.on_error = on_error
        self.description = f"saved in {self.path}"
        self._jobs: queue.Queue[tuple[Callable[[CaseStore], Any], Future[Any] | None, str]] = (
            queue.Queue()
        )
        self._broken = False  # a write failed: later ones are dropped until `reload`
        self._store: CaseStore | None = None
        opened: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(opened,), name="hemoscope-store", daemon=True
        )
        self._thread.start()
        opened.result()  # raises what CaseStore.open raised

    # -- actions (GUI thread; return at once) ----------------------------------------------
    def create_case(self, info: CaseInfo) -> Case:
        case: Case = self._call(lambda store: store.create_case(info, operator=self.operator))
        return case

    def add_field(self, case: Case, field: Field, image: Image) -> tuple[Case, AddField]:
        command = AddField(field)
        after = command.apply(case)

        def save(store: CaseStore) -> None:
            ref = store.images.put(image)
            store.add_field(case, field, ref, operator=self.operator)

        self._post(save, f"The captured field ({field.n_wbc} white cells)")
        return after, command

    def apply(
        self, case: Case, command: Correction, *, redo: bool = False
    ) -> tuple[Case, Correction]:
        bound = command.bind(case)
        after = bound.apply(case)
        what = f"“{bound.describe()}”"
        self._post(lambda store: store.apply(case, bound, operator=self.operator, redo=redo), what)
        return after, bound

    def revert(self, case: Case, command: Correction) -> Case:
        after = command.revert(case)
        what = f"Undo of “{command.describe()}”"
        self._post(lambda store: store.revert(case, command, operator=self.operator), what)
        return after

    def update_info(self, case: Case, info: CaseInfo) -> Case:
        if info == case.info:
            return case
        self._post(
            lambda store: store.update_info(case, info, operator=self.operator), "The sample data"
        )
        return case.with_info(info)

    # -- reads and control (GUI thread; wait for the store's thread) -----------------------
    def field_image(self, case: Case, field_id: str) -> Image | None:
        image: Image | None = self._call(lambda store: store.field_image(case.id, field_id))
        return image

    def reload(self, case: Case) -> Case:
        """The case as the database has it; writes are accepted again."""

        def load(store: CaseStore) -> Case:
            self._broken = False
            return store.load_case(case.id)

        loaded: Case = self._call(load)
        return loaded

    def flush(self, timeout_s: float = CALL_TIMEOUT_S) -> None:
        """Wait until everything asked so far is written."""
        self._call(lambda store: None, timeout_s)

    def close(self) -> None:
        """Write what is queued, close the database, end the thread."""
        if self._thread.is_alive():
            self._jobs.put((lambda store: None, None, ""))
            self._jobs.put(_STOP)
            self._thread.join(CALL_TIMEOUT_S)

    @property
    def pending(self) -> int:
        return self._jobs.qsize()

    # -- the store's thread ----------------------------------------------------------------
    def _call(self, job: Callable[[CaseStore], Any], timeout_s: float = CALL_TIMEOUT_S) -> Any:
        done: Future[Any] = Future()
        self._jobs.put((job, done, ""))
        return done.result(timeout_s)

    def _post(self, job: Callable[[CaseStore], Any], what: str) -> None:
        self._jobs.put((job, None, what))

    def _run(self, opened: Future[None]) -> None:
        try:
            store = CaseStore.open(self.path)
        except BaseException as error:
            opened.set_exception(error)
            return
        self._store = store
        opened.set_result(None)
        try:
            while True:
                item = self._jobs.get()
                if item is _STOP:
                    return
                job, done, what = item
                if done is not None:
                    self._answer(store, job, done)
                elif not self._broken:
                    self._write(store, job, what)
        finally:
            store.close()

    @staticmethod
    def _answer(store: CaseStore, job: Callable[[CaseStore], Any], done: Future[Any]) -> None:
        try:
            done.set_result(job(store))
        except BaseException as error:
            done.set_exception(error)

    def _write(self, store: CaseStore, job: Callable[[CaseStore], Any], what: str) -> None:
        try:
            job(store)
        except Exception as error:
            self._broken = True
            log.exception("saving failed: %s", what)
            message = f"{what} could not be saved: {error}"
            if self.on_error is not None:
                self.on_error(message)


_STOP: Any = object()
