"""`CaseSession`: the store tests' way to work on a case step by step, with undo.

Each call is one user action, saved in one transaction with its audit records before it
returns; undo and redo are saved the same way. (The station writes through the same
store from `hemoscope.ui.case.case_backend`, with Qt's undo stack.) A step that cannot be
saved raises and leaves the session (case and undo stacks) exactly as it was.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from hemoscope.core import (
    Case,
    CaseInfo,
    Correction,
    CorrectionError,
    Field,
    SignOff,
    UndoHistory,
)
from hemoscope.store import CaseStore, ImageRef

__all__ = ["CaseSession"]

logger = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]


class CaseSession(UndoHistory):
    """An open case whose every step, undo and redo is saved by the store.

    ``operator`` (who is at the microscope) signs every audit record; ``undo_limit``
    keeps at most that many undo steps (``None``: all). The stacks, their texts and
    `reset` are the core's `UndoHistory`; each step goes through the store instead.
    """

    def __init__(
        self, store: CaseStore, case: Case, *, operator: str, undo_limit: int | None = None
    ) -> None:
        super().__init__(case, undo_limit)
        self.store = store
        self.operator = operator

    def do(self, command: Correction) -> Case:
        """Apply and save ``command``; returns the new case."""
        case, bound = self.store.apply(self._case, command, operator=self.operator)
        return self._push(bound, case)

    def undo(self) -> Case:
        if not self._undo:
            raise CorrectionError("nothing to undo")
        self._case = self.store.revert(self._case, self._undo[-1], operator=self.operator)
        self._redo.append(self._undo.pop())
        return self._case

    def redo(self) -> Case:
        if not self._redo:
            raise CorrectionError("nothing to redo")
        self._case, bound = self.store.apply(
            self._case, self._redo[-1], operator=self.operator, redo=True
        )
        self._redo.pop()
        self._undo.append(bound)
        return self._case

    def _push(self, bound: Correction, case: Case) -> Case:
        self._case = case
        self._undo.append(bound)
        if self._limit is not None and len(self._undo) > self._limit:
            del self._undo[0]
        self._redo.clear()
        return case

    @classmethod
    def open(cls, store: CaseStore, case_id: str, *, operator: str) -> CaseSession:
        """Load a stored case and start working on it."""
        return cls(store, store.load_case(case_id), operator=operator)

    @classmethod
    def new(cls, store: CaseStore, info: CaseInfo, *, operator: str | None = None) -> CaseSession:
        """Create a case and start working on it."""
        who = info.operator if operator is None else operator
        return cls(store, store.create_case(info, operator=who), operator=who)

    # -- actions besides corrections -------------------------------------------------------
    def add_field(self, field: Field, image: Image | ImageRef) -> Case:
        """Add a captured field and its image (undoable)."""
        case, command = self.store.add_field(self.case, field, image, operator=self.operator)
        return self._push(command, case)

    def update_info(self, info: CaseInfo) -> Case:
        """Change the request-form data (saved and audited; not on the undo stack)."""
        self._case = self.store.update_info(self.case, info, operator=self.operator)
        return self._case

    def sign_off(self, *, performed_by: str, reviewed_by: str) -> SignOff:
        """Record the sign-off (refused while cells await review); clears undo/redo."""
        record = self.store.record_sign_off(
            self.case, performed_by=performed_by, reviewed_by=reviewed_by
        )
        self.reset(self.case)
        return record

    def close(self) -> None:
        """Stop working on the case: undo ends, everything done stays saved."""
        self.reset(self.case)
        self.store.forget(self.case.id)

    def reload(self) -> Case:
        """Read the case again from the database (after `StaleCaseError`); clears undo."""
        self.reset(self.store.load_case(self.case.id))
        return self.case
