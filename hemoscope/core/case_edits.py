"""Undoable commands on the case as a whole: manual counts and fields."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar, Self

from .case import Case
from .cells import Field
from .corrections import AuditEntry, Correction, CorrectionError, _check_class, _field, _name
from .taxonomy import DEFAULT_TAXONOMY, Taxonomy

__all__ = ["AddField", "DeleteField", "ManualIncrement"]


@dataclass(frozen=True)
class ManualIncrement(Correction):
    """Add ``delta`` (default +1, may be negative) to a manual eyepiece count.

    Counts never go below zero: a decrement that would raises `CorrectionError`.
    """

    action: ClassVar[str] = "manual-count"
    class_id: str
    delta: int = 1
    taxonomy: Taxonomy = field(default=DEFAULT_TAXONOMY, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        _check_class(self.taxonomy, self.class_id)
        if isinstance(self.delta, bool) or not isinstance(self.delta, int) or self.delta == 0:
            raise CorrectionError(f"delta must be a non-zero int, got {self.delta!r}")

    def _add(self, case: Case, delta: int) -> Case:
        current = case.manual.get_count(self.class_id)
        if current + delta < 0:
            raise CorrectionError(
                f"manual count of {_name(self.taxonomy, self.class_id)} is {current}; "
                f"cannot change it by {delta:+d} (counts never go below 0)"
            )
        return case.with_manual_counts(case.manual.add(self.class_id, delta))

    def apply(self, case: Case) -> Case:
        return self._add(case, self.delta)

    def revert(self, case: Case) -> Case:
        return self._add(case, -self.delta)

    def audit(self) -> AuditEntry:
        return AuditEntry(
            self.action,
            None,
            None,
            None,
            self.class_id,
            f"Manual count {_name(self.taxonomy, self.class_id)} {self.delta:+d}",
        )


@dataclass(frozen=True)
class AddField(Correction):
    """Add a captured field to the case (appended)."""

    action: ClassVar[str] = "add-field"
    field: Field

    def apply(self, case: Case) -> Case:
        if case.field_index(self.field.id) is not None:
            raise CorrectionError(f"case already has field {self.field.id!r}")
        return case.add_field(self.field)

    def revert(self, case: Case) -> Case:
        index, current = _field(case, self.field.id)
        if current != self.field:
            raise CorrectionError(
                f"field {self.field.id!r} changed since it was added; "
                "undo the later corrections first"
            )
        return case.without_field(index)

    def audit(self) -> AuditEntry:
        return AuditEntry(
            self.action,
            self.field.id,
            None,
            None,
            None,
            f"Add field {self.field.id[:8]} ({len(self.field.cells)} cells)",
        )


@dataclass(frozen=True)
class DeleteField(Correction):
    """Remove a captured field (a bad capture); reverting restores it in place."""

    action: ClassVar[str] = "delete-field"
    field_id: str
    before: Field | None = None
    index: int | None = None

    def bind(self, case: Case) -> Self:
        index, current = _field(case, self.field_id)
        return replace(self, before=current, index=index)

    @property
    def is_bound(self) -> bool:
        return self.before is not None and self.index is not None

    def apply(self, case: Case) -> Case:
        index, current = _field(case, self.field_id)
        if self.before is not None and current != self.before:
            raise CorrectionError(
                f"field {self.field_id!r} changed since the correction "
                "was made; undo the later corrections first"
            )
        return case.without_field(index)

    def revert(self, case: Case) -> Case:
        if self.before is None or self.index is None:
            raise CorrectionError("delete-field was not bound to a case: cannot revert")
        if case.field_index(self.field_id) is not None:
            raise CorrectionError(f"case already has field {self.field_id!r}")
        return case.insert_field(self.index, self.before)

    def audit(self) -> AuditEntry:
        n = "?" if self.before is None else str(len(self.before.cells))
        return AuditEntry(
            self.action,
            self.field_id,
            None,
            None,
            None,
            f"Delete field {self.field_id[:8]} ({n} cells)",
        )
