"""Undo/redo of corrections on a case, without any GUI toolkit."""

from __future__ import annotations

from .case import Case
from .corrections import Correction, CorrectionError

__all__ = ["UndoHistory"]


class UndoHistory:
    """Holds the current case and the corrections that led to it.

    :meth:`do` binds the command to the current case, applies it and records it; a new
    command clears the redo stack. A command that fails leaves the history unchanged.
    ``limit`` (when set) keeps only that many undo steps.
    """

    def __init__(self, case: Case, limit: int | None = None) -> None:
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        self._case = case
        self._limit = limit
        self._undo: list[Correction] = []
        self._redo: list[Correction] = []

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
        """Description of the step :meth:`undo` would revert, or ``None``."""
        return self._undo[-1].describe() if self._undo else None

    @property
    def redo_text(self) -> str | None:
        return self._redo[-1].describe() if self._redo else None

    @property
    def done(self) -> tuple[Correction, ...]:
        """The bound commands that can be undone, oldest first."""
        return tuple(self._undo)

    def do(self, command: Correction) -> Case:
        """Apply ``command``; returns the new case."""
        bound = command.bind(self._case)
        self._case = bound.apply(self._case)
        self._undo.append(bound)
        if self._limit is not None and len(self._undo) > self._limit:
            del self._undo[0]
        self._redo.clear()
        return self._case

    def undo(self) -> Case:
        """Revert the last command; returns the case as it was before it."""
        if not self._undo:
            raise CorrectionError("nothing to undo")
        command = self._undo[-1]
        self._case = command.revert(self._case)
        self._undo.pop()
        self._redo.append(command)
        return self._case

    def redo(self) -> Case:
        """Apply again the last undone command."""
        if not self._redo:
            raise CorrectionError("nothing to redo")
        command = self._redo[-1]
        self._case = command.apply(self._case)
        self._redo.pop()
        self._undo.append(command)
        return self._case

    def reset(self, case: Case) -> None:
        """Start over from ``case`` (e.g. another case opened): both stacks cleared."""
        self._case = case
        self._undo.clear()
        self._redo.clear()
