"""`CaseSession`: the store tests' way to work on a case step by step, with undo.

Each call is one user action, saved in one transaction with its audit records before it
returns; the undo history is the core's `UndoHistory` with store-backed steps. (The
station writes through the same store from `hemoscope.ui.case_backend`, with Qt's undo
stack.) A step that cannot be saved raises and leaves the session (case and undo stacks)
exactly as it was.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from hemoscope.core import Case, CaseInfo, Correction, Field, UndoHistory
from hemoscope.store import CaseStore, ImageRef, SignOffRecord

__all__ = ["CaseSession"]

logger = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]


class CaseSession(UndoHistory):
    """An open case: `UndoHistory` whose every step is saved by the store.

    ``operator`` (who is at the microscope) signs every audit record; ``undo_limit``
    keeps at most that many undo steps (``None``: all).
    """

    def __init__(
        self, store: CaseStore, case: Case, *, operator: str, undo_limit: int | None = None
    ) -> None:
        self.store = store
        self.operator = operator
        super().__init__(case, undo_limit, apply=self._save, revert=self._save_revert)

    def _save(self, case: Case, command: Correction, redo: bool) -> tuple[Case, Correction]:
        return self.store.apply(case, command, operator=self.operator, redo=redo)

    def _save_revert(self, case: Case, command: Correction) -> Case:
        return self.store.revert(case, command, operator=self.operator)

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
        return self.push(command, case)

    def update_info(self, info: CaseInfo) -> Case:
        """Change the request-form data (saved and audited; not on the undo stack)."""
        self._case = self.store.update_info(self.case, info, operator=self.operator)
        return self._case

    def sign_off(self, *, performed_by: str, reviewed_by: str) -> SignOffRecord:
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
