"""Corrections: undoable, pure commands on a `Case`, with audit records.

Each command is an immutable value with ``apply(case) -> Case`` and
``revert(case) -> Case``. Commands that destroy or overwrite state (relabel, confirm,
delete) must first be *bound* to the case they act on, ``cmd.bind(case)``, which records
what they overwrite; :class:`~hemoscope.core.history.UndoHistory` does this for you.
``cmd.bind(case).revert(cmd.bind(case).apply(case)) == case``.

Every failure (unknown field, cell or class id; a count that would go below zero; a case
that no longer matches the command) raises :class:`CorrectionError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import ClassVar, Self

from .case import Case
from .cells import Cell, Field
from .review import REASON_UNFAMILIAR, join_reasons, split_reasons
from .taxonomy import DEFAULT_TAXONOMY, Taxonomy

__all__ = [
    "AddCell",
    "AuditEntry",
    "Confirm",
    "Correction",
    "CorrectionError",
    "CountCell",
    "Delete",
    "FlagUnfamiliar",
    "Relabel",
]


class CorrectionError(ValueError):
    """A correction cannot be applied or reverted on this case."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What a correction did, for the audit trail."""

    action: str
    field_id: str | None
    cell_id: str | None
    old_class: str | None
    new_class: str | None
    detail: str

    def undone(self) -> AuditEntry:
        """The entry recording that this action was undone (classes swapped)."""
        return AuditEntry(
            f"undo:{self.action}",
            self.field_id,
            self.cell_id,
            self.new_class,
            self.old_class,
            f"undo: {self.detail}",
        )


class Correction(ABC):
    """Base of all commands."""

    action: ClassVar[str]

    def bind(self, case: Case) -> Self:
        """A copy that remembers what :meth:`apply` will overwrite in ``case``."""
        return self

    @property
    def is_bound(self) -> bool:
        return True

    @abstractmethod
    def apply(self, case: Case) -> Case: ...

    @abstractmethod
    def revert(self, case: Case) -> Case: ...

    @abstractmethod
    def audit(self) -> AuditEntry: ...

    def describe(self) -> str:
        """One line for menus ("Undo ...") and logs."""
        return self.audit().detail


# -- helpers -------------------------------------------------------------------------
def _short(id_: str | None) -> str:
    return "?" if id_ is None else id_[:8]


def _name(taxonomy: Taxonomy, class_id: str | None) -> str:
    if class_id is None:
        return "unclassified"
    cls = taxonomy.get(class_id)
    return class_id if cls is None else cls.display_name


def _check_class(taxonomy: Taxonomy, class_id: str | None) -> None:
    if class_id is not None and class_id not in taxonomy:
        raise CorrectionError(f"unknown cell class {class_id!r}; known: {', '.join(taxonomy.ids)}")


def _field(case: Case, field_id: str) -> tuple[int, Field]:
    index = case.field_index(field_id)
    if index is None:
        raise CorrectionError(f"no field {field_id!r} in case {case.info.sample_id!r}")
    return index, case.fields[index]


def _cell(case: Case, field_id: str, cell_id: str) -> tuple[int, Field, int, Cell]:
    fi, fld = _field(case, field_id)
    ci = fld.index_of(cell_id)
    if ci is None:
        raise CorrectionError(f"no cell {cell_id!r} in field {field_id!r}")
    return fi, fld, ci, fld.cells[ci]


def _stale(what: str) -> CorrectionError:
    return CorrectionError(
        f"{what} changed since the correction was made; undo the later corrections first"
    )


# -- cell commands -------------------------------------------------------------------
@dataclass(frozen=True)
class _CellEdit(Correction):
    """Replace one cell by an edited copy; reverting puts the bound original back."""

    field_id: str
    cell_id: str
    before: Cell | None = field(default=None, kw_only=True)
    taxonomy: Taxonomy = field(default=DEFAULT_TAXONOMY, compare=False, repr=False, kw_only=True)

    @abstractmethod
    def _edit(self, cell: Cell) -> Cell:
        """The cell as this command leaves it."""

    def bind(self, case: Case) -> Self:
        return replace(self, before=_cell(case, self.field_id, self.cell_id)[3])

    @property
    def is_bound(self) -> bool:
        return self.before is not None

    def apply(self, case: Case) -> Case:
        fi, fld, ci, cell = _cell(case, self.field_id, self.cell_id)
        if self.before is not None and cell != self.before:
            raise _stale(f"cell {_short(self.cell_id)}")
        return case.with_field(fi, fld.with_cell(ci, self._edit(cell)))

    def _class_kept(self, describe: Callable[[str | None], str]) -> AuditEntry:
        """The audit entry of an edit that keeps the cell's class; ``describe(class)``
        gives its text."""
        klass = None if self.before is None else self.before.effective_class
        return AuditEntry(self.action, self.field_id, self.cell_id, klass, klass, describe(klass))

    def revert(self, case: Case) -> Case:
        if self.before is None:
            raise CorrectionError(f"{self.action} was not bound to a case: cannot revert")
        fi, fld, ci, cell = _cell(case, self.field_id, self.cell_id)
        if cell != self._edit(self.before):
            raise _stale(f"cell {_short(self.cell_id)}")
        return case.with_field(fi, fld.with_cell(ci, self.before))


@dataclass(frozen=True)
class Relabel(_CellEdit):
    """Set the technician's class of a cell.

    The cell takes the kind of its new class (relabelling a red-cell detection as a
    lymphocyte makes it a white cell that counts). Its review flag and reason stay: they
    record why the machine flagged it; the decision (``final_class``) ends the review
    (`Cell.pending_review`).
    """

    action: ClassVar[str] = "relabel"
    new_class: str

    def __post_init__(self) -> None:
        _check_class(self.taxonomy, self.new_class)

    def _edit(self, cell: Cell) -> Cell:
        return replace(cell, final_class=self.new_class, kind=self.taxonomy[self.new_class].kind)

    def audit(self) -> AuditEntry:
        old = None if self.before is None else self.before.effective_class
        return AuditEntry(
            self.action,
            self.field_id,
            self.cell_id,
            old,
            self.new_class,
            f"Relabel cell {_short(self.cell_id)}: "
            f"{_name(self.taxonomy, old)} → "
            f"{_name(self.taxonomy, self.new_class)}",
        )


@dataclass(frozen=True)
class Confirm(_CellEdit):
    """Accept the classifier's class: ``final_class = auto_class``; like `Relabel`, the
    review flag and reason stay as the machine's record and the review is over."""

    action: ClassVar[str] = "confirm"

    def _edit(self, cell: Cell) -> Cell:
        if cell.auto_class is None:
            raise CorrectionError(f"cell {_short(cell.id)} has no automatic class to confirm")
        return replace(cell, final_class=cell.auto_class)

    def audit(self) -> AuditEntry:
        b = self.before
        old = None if b is None else b.effective_class
        new = None if b is None else b.auto_class
        return AuditEntry(
            self.action,
            self.field_id,
            self.cell_id,
            old,
            new,
            f"Confirm cell {_short(self.cell_id)} as {new or 'its automatic class'}",
        )


@dataclass(frozen=True)
class CountCell(_CellEdit):
    """Count a cell marked out of the tally (``uncounted``: "already counted" in an
    earlier field, or "cut by the edge"): the technician overrules the mark."""

    action: ClassVar[str] = "count"

    def _edit(self, cell: Cell) -> Cell:
        if not cell.uncounted:
            raise CorrectionError(f"cell {_short(cell.id)} is counted already")
        return replace(cell, uncounted="")

    def audit(self) -> AuditEntry:
        mark = "" if self.before is None else self.before.uncounted
        return self._class_kept(
            lambda klass: (
                f"Count cell {_short(self.cell_id)} ({_name(self.taxonomy, klass)}) "
                f"marked {mark!r}: the mark overruled"
            )
        )


@dataclass(frozen=True)
class FlagUnfamiliar(_CellEdit):
    """Flag a cell for review as unfamiliar at a stricter review sensitivity chosen after
    it was classified (Blasts Suspected in the middle of a case): its class stays, the
    reason ``unfamiliar`` is added to its others, and it waits for a person's decision."""

    action: ClassVar[str] = "flag-unfamiliar"
    sensitivity: str = field(default="high", kw_only=True)

    def _edit(self, cell: Cell) -> Cell:
        reasons = split_reasons(cell.review_reason)
        if REASON_UNFAMILIAR in reasons:
            raise CorrectionError(f"cell {_short(cell.id)} is flagged unfamiliar already")
        return replace(cell, review=True, review_reason=join_reasons([*reasons, REASON_UNFAMILIAR]))

    def audit(self) -> AuditEntry:
        return self._class_kept(
            lambda klass: (
                f"Flag cell {_short(self.cell_id)} ({_name(self.taxonomy, klass)}) "
                f"for review: unfamiliar at {self.sensitivity} review sensitivity"
            )
        )


@dataclass(frozen=True)
class Delete(Correction):
    """Remove a cell (a false detection); reverting restores it at the same index."""

    action: ClassVar[str] = "delete"
    field_id: str
    cell_id: str
    before: Cell | None = None
    index: int | None = None
    taxonomy: Taxonomy = field(default=DEFAULT_TAXONOMY, compare=False, repr=False, kw_only=True)

    def bind(self, case: Case) -> Self:
        _, _, ci, cell = _cell(case, self.field_id, self.cell_id)
        return replace(self, before=cell, index=ci)

    @property
    def is_bound(self) -> bool:
        return self.before is not None and self.index is not None

    def apply(self, case: Case) -> Case:
        fi, fld, ci, cell = _cell(case, self.field_id, self.cell_id)
        if self.before is not None and cell != self.before:
            raise _stale(f"cell {_short(self.cell_id)}")
        return case.with_field(fi, fld.without(ci))

    def revert(self, case: Case) -> Case:
        if self.before is None or self.index is None:
            raise CorrectionError("delete was not bound to a case: cannot revert")
        fi, fld = _field(case, self.field_id)
        if fld.index_of(self.cell_id) is not None:
            raise _stale(f"cell {_short(self.cell_id)}")
        return case.with_field(fi, fld.inserting(self.index, self.before))

    def audit(self) -> AuditEntry:
        old = None if self.before is None else self.before.effective_class
        return AuditEntry(
            self.action,
            self.field_id,
            self.cell_id,
            old,
            None,
            f"Delete cell {_short(self.cell_id)} ({_name(self.taxonomy, old)})",
        )


@dataclass(frozen=True)
class AddCell(Correction):
    """Add a cell the detector missed; it is stored with ``manual=True``."""

    action: ClassVar[str] = "add-cell"
    field_id: str
    cell: Cell
    taxonomy: Taxonomy = field(default=DEFAULT_TAXONOMY, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        _check_class(self.taxonomy, self.cell.auto_class)
        _check_class(self.taxonomy, self.cell.final_class)
        if not self.cell.manual:
            object.__setattr__(self, "cell", replace(self.cell, manual=True))

    def apply(self, case: Case) -> Case:
        fi, fld = _field(case, self.field_id)
        if fld.index_of(self.cell.id) is not None:
            raise CorrectionError(f"field {self.field_id!r} already has cell {self.cell.id!r}")
        return case.with_field(fi, fld.inserting(len(fld.cells), self.cell))

    def revert(self, case: Case) -> Case:
        fi, fld, ci, cell = _cell(case, self.field_id, self.cell.id)
        if cell != self.cell:
            raise _stale(f"cell {_short(self.cell.id)}")
        return case.with_field(fi, fld.without(ci))

    def audit(self) -> AuditEntry:
        new = self.cell.effective_class
        return AuditEntry(
            self.action,
            self.field_id,
            self.cell.id,
            None,
            new,
            f"Add cell {_short(self.cell.id)} ({_name(self.taxonomy, new)})",
        )
