"""`CaseSession`: one open case with undo/redo, saved to the store at every step.

This is what a window (or the command line) works through while a case is open: each
call is one user action, saved in one transaction with its audit records before it
returns. A step that cannot be saved raises and leaves the session (case and undo
stacks) exactly as it was. The undo history lives in memory: it ends when the case is
closed, while everything done stays in the database and its audit trail.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from hemoscope.core import Case, CaseInfo, Correction, CorrectionError, Field

from .images import ImageRef
from .records import SignOffRecord
from .store import CaseStore

__all__ = ["CaseSession"]

logger = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]


class CaseSession:
    """An open case. ``operator`` (who is at the microscope) signs every audit record.

    ``undo_limit`` keeps at most that many undo steps (``None``: all).
    """

    def __init__(
        self, store: CaseStore, case: Case, *, operator: str, undo_limit: int | None = None
    ) -> None:
        if undo_limit is not None and undo_limit < 1:
            raise ValueError(f"undo_limit must be >= 1, got {undo_limit}")
        self.store = store
        self.operator = operator
        self._case = case
        self._limit = undo_limit
        self._undo: list[Correction] = []
        self._redo: list[Correction] = []

    @classmethod
    def open(cls, store: CaseStore, case_id: str, *, operator: str) -> CaseSession:
        """Load a stored case and start working on it."""
        return cls(store, store.load_case(case_id), operator=operator)

    @classmethod
    def new(cls, store: CaseStore, info: CaseInfo, *, operator: str | None = None) -> CaseSession:
        """Create a case and start working on it."""
        who = info.operator if operator is None else operator
        return cls(store, store.create_case(info, operator=who), operator=who)

    # -- state ---------------------------------------------------------------------------
    @property
    def case(self) -> Case:
        return self._case

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_text(self) -> str | None:
        """What :meth:`undo` would revert ("Relabel cell ..."), or ``None``."""
        return self._undo[-1].describe() if self._undo else None

    @property
    def redo_text(self) -> str | None:
        return self._redo[-1].describe() if self._redo else None

    def _push(self, command: Correction) -> None:
        self._undo.append(command)
        if self._limit is not None and len(self._undo) > self._limit:
            del self._undo[0]
        self._redo.clear()

    # -- actions ---------------------------------------------------------------------------
    def add_field(self, field: Field, image: Image | ImageRef) -> Case:
        """Add a captured field and its image (undoable)."""
        self._case, command = self.store.add_field(self._case, field, image, operator=self.operator)
        self._push(command)
        return self._case

    def do(self, command: Correction) -> Case:
        """Apply and save a correction (relabel, confirm, delete, add cell, ...)."""
        self._case, bound = self.store.apply(self._case, command, operator=self.operator)
        self._push(bound)
        return self._case

    def undo(self) -> Case:
        if not self._undo:
            raise CorrectionError("nothing to undo")
        command = self._undo[-1]
        self._case = self.store.revert(self._case, command, operator=self.operator)
        self._undo.pop()
        self._redo.append(command)
        return self._case

    def redo(self) -> Case:
        if not self._redo:
            raise CorrectionError("nothing to redo")
        command = self._redo[-1]
        self._case, bound = self.store.apply(self._case, command, operator=self.operator, redo=True)
        self._redo.pop()
        self._undo.append(bound)
        return self._case

    def update_info(self, info: CaseInfo) -> Case:
        """Change the request-form data (saved and audited; not on the undo stack)."""
        self._case = self.store.update_info(self._case, info, operator=self.operator)
        return self._case

    def sign_off(self, *, performed_by: str, reviewed_by: str) -> SignOffRecord:
        """Record the sign-off (refused while cells await review); clears undo/redo."""
        record = self.store.record_sign_off(
            self._case, performed_by=performed_by, reviewed_by=reviewed_by
        )
        self._undo.clear()
        self._redo.clear()
        return record

    def close(self) -> None:
        """Stop working on the case: undo ends, everything done stays saved."""
        self._undo.clear()
        self._redo.clear()
        self.store.forget(self._case.id)

    def reload(self) -> Case:
        """Read the case again from the database (after `StaleCaseError`); clears undo."""
        self._case = self.store.load_case(self._case.id)
        self._undo.clear()
        self._redo.clear()
        return self._case
