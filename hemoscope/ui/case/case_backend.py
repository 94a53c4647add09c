"""Where the open case lives: in the case database, or only in memory. No Qt here.

The station changes the case only through a `CaseBackend`, one user action per call.
Every call returns at once with the new case, computed by the core's own commands (the
very computation the store repeats), so the picture never waits for a disk:

- `StoreBackend` saves every action in the case database (`hemoscope.store.CaseStore`, one
  transaction each, with its audit records) on a thread of its own that owns the
  database connection, in the order the actions were made; field images are written on
  that thread first. A crash or power cut loses at most the action being written. A save
  that fails is reported through ``on_error`` (called on the store's thread); the writes
  queued after it are dropped (they build on it) until `open_case` reads the case back from
  the database, which is then the truth again.
- `MemoryBackend` (`memory_backend`) is the same over a store kept in memory only;
  ``saves`` is False and the window says so ("not saved").

Reads (the case list, a past case, its audit trail and sign-off) and the sign-off itself
wait for the writes queued before them, so they see every action already made.

Undo is not kept here: the window's QUndoStack holds the bound commands and calls
`revert` and `apply(..., redo=True)`.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from hemoscope.core import AddField, Case, CaseInfo, Correction, Field, SignOff
from hemoscope.store import AuditRecord, CaseStore, CaseSummary

__all__ = ["CaseBackend", "StoreBackend"]

log = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]
ErrorCallback = Callable[[str], None]
CALL_TIMEOUT_S = 30.0


class CaseBackend(Protocol):
    saves: bool
    description: str
    operator: str
    on_error: ErrorCallback | None

    def create_case(self, info: CaseInfo) -> Case: ...

    def add_field(self, case: Case, field: Field, image: Image) -> tuple[Case, AddField]: ...

    def apply(
        self, case: Case, command: Correction, *, redo: bool = False
    ) -> tuple[Case, Correction]: ...

    def revert(self, case: Case, command: Correction) -> Case: ...

    def update_info(self, case: Case, info: CaseInfo) -> Case: ...

    def field_image(self, case: Case, field_id: str) -> Image | None: ...

    def list_cases(
        self, query: str = "", *, date_from: date | None = None, date_to: date | None = None
    ) -> list[CaseSummary]: ...

    def open_case(self, case_id: str) -> tuple[Case, SignOff | None]: ...

    def close_case(self, case: Case) -> None: ...

    def audit_trail(self, case: Case) -> list[AuditRecord]: ...

    def record_sign_off(
        self, case: Case, *, performed_by: str, reviewed_by: str, note: str = ""
    ) -> SignOff: ...

    def reopen(self, case: Case, *, reason: str) -> None: ...

    def flush(self, timeout_s: float = CALL_TIMEOUT_S) -> None: ...

    def close(self) -> None: ...


class StoreBackend:
    """The case database at `path`, written on the "hemoscope-store" thread.

    Opening happens on that thread too (SQLite connections belong to the thread that
    made them); a database that cannot be opened raises here, as `CaseStore.open` does.
    """

    saves = True

    def __init__(
        self,
        path: Path,
        *,
        operator: str,
        on_error: ErrorCallback | None = None,
        open_store: Callable[[], CaseStore] | None = None,
    ) -> None:
        """``open_store`` opens the store instead of ``CaseStore.open(path)`` (on the
        store's thread)."""
        self.path = Path(path)
        self.operator = operator
        self.on_error = on_error
        self.description = f"saved in {self.path}"
        self._open_store = open_store or (lambda: CaseStore.open(self.path))
        self._jobs: queue.Queue[tuple[Callable[[CaseStore], Any], Future[Any] | None, str]] = (
            queue.Queue()
        )
        self._broken = False  # a write failed: later ones are dropped until `open_case`
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

    def list_cases(
        self, query: str = "", *, date_from: date | None = None, date_to: date | None = None
    ) -> list[CaseSummary]:
        """The saved cases, newest first, matching `query` (sample or patient id)."""
        found: list[CaseSummary] = self._call(
            lambda store: store.list_cases(query, date_from=date_from, date_to=date_to)
        )
        return found

    def open_case(self, case_id: str) -> tuple[Case, SignOff | None]:
        """A saved case as the database has it, with its sign-off (None: not signed);
        writes are accepted again (see `on_error`)."""

        def load(store: CaseStore) -> tuple[Case, SignOff | None]:
            self._broken = False
            return store.load_case(case_id), store.sign_off_of(case_id)

        opened: tuple[Case, SignOff | None] = self._call(load)
        return opened

    def close_case(self, case: Case) -> None:
        """The window is done with `case` (it is saved): the store may forget it."""
        self._post(lambda store: store.forget(case.id), "")

    def audit_trail(self, case: Case) -> list[AuditRecord]:
        records: list[AuditRecord] = self._call(lambda store: store.audit_trail(case.id))
        return records

    def record_sign_off(
        self, case: Case, *, performed_by: str, reviewed_by: str, note: str = ""
    ) -> SignOff:
        """Sign the case off (raises `SignOffError` while cells await review); it is locked
        until `reopen`."""
        record: SignOff = self._call(
            lambda store: store.record_sign_off(
                case, performed_by=performed_by, reviewed_by=reviewed_by, note=note
            )
        )
        return record

    def reopen(self, case: Case, *, reason: str) -> None:
        """Clear the sign-off so the case can be amended (audited with `reason`)."""
        self._call(lambda store: store.reopen(case, operator=self.operator, reason=reason))

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
            store = self._open_store()
        except BaseException as error:
            opened.set_exception(error)
            return
        self._store = store
        opened.set_result(None)
        try:  # housekeeping after a crash; never in the way of the station
            store.collect_orphan_images()
        except Exception:
            log.exception("orphan field images could not be collected")
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
