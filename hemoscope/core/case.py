"""A case: one sample's differential, its captured fields and manual counts."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Protocol, cast

from .cells import Cell, Field
from .counts import Counts
from .ids import new_id
from .taxonomy import CellKind

__all__ = ["Case", "CaseCommand", "CaseInfo", "SignOff"]


@dataclass(frozen=True, slots=True)
class SignOff:
    """Who performed the differential, who reviewed it, and when it was signed off."""

    performed_by: str
    reviewed_by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CaseInfo:
    """What the request form says about the sample.

    Attributes:
        sample_id: the laboratory's sample (accession) number; required, non-empty.
        patient_id, patient_name: as on the request; may be empty.
        specimen_date: date the specimen was taken, or ``None``.
        operator: who performs the differential.
        wbc_count: analyser WBC count in x10^9/L (> 0), or ``None`` when not known.
        comments: free text for the report.
    """

    sample_id: str
    patient_id: str = ""
    patient_name: str = ""
    specimen_date: date | None = None
    operator: str = ""
    wbc_count: float | None = None
    comments: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.sample_id, str) or not self.sample_id.strip():
            raise ValueError("a case needs a sample id")
        object.__setattr__(self, "sample_id", self.sample_id.strip())
        if self.wbc_count is not None:
            if isinstance(self.wbc_count, bool) or not isinstance(self.wbc_count, int | float):
                raise TypeError(f"wbc_count must be a number, got {self.wbc_count!r}")
            if not (math.isfinite(self.wbc_count) and self.wbc_count > 0):
                raise ValueError(f"wbc_count must be > 0 (x10^9/L), got {self.wbc_count}")
            object.__setattr__(self, "wbc_count", float(self.wbc_count))


class CaseCommand(Protocol):
    """Anything that turns a case into a new case (see ``corrections``)."""

    def apply(self, case: Case) -> Case: ...


@dataclass(frozen=True, slots=True)
class Case:
    """An immutable case. Every change returns a new `Case`.

    ``manual_counts`` holds cells counted at the eyepiece without images (class id ->
    count); it is stored as :class:`Counts`, so zero entries vanish and equality ignores
    order. Field ids are unique within a case.
    """

    info: CaseInfo
    fields: tuple[Field, ...] = ()
    manual_counts: Mapping[str, int] = field(default_factory=Counts)
    id: str = field(default_factory=new_id)

    def __post_init__(self) -> None:
        if not isinstance(self.info, CaseInfo):
            raise TypeError("Case.info must be a CaseInfo")
        object.__setattr__(self, "fields", tuple(self.fields))
        if not isinstance(self.manual_counts, Counts):
            object.__setattr__(self, "manual_counts", Counts(self.manual_counts))
        ids = [f.id for f in self.fields]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate field ids in case {self.info.sample_id!r}")
        if not self.id:
            raise ValueError("a case needs a non-empty id")

    def __hash__(self) -> int:
        return hash((self.id, self.info, self.fields, self.manual_counts))

    @property
    def manual(self) -> Counts:
        """``manual_counts`` typed as :class:`Counts`."""
        return cast(Counts, self.manual_counts)  # coerced in __post_init__

    # -- queries ---------------------------------------------------------------------
    def field_index(self, field_id: str) -> int | None:
        """Position of a field, or ``None``."""
        for i, f in enumerate(self.fields):
            if f.id == field_id:
                return i
        return None

    def get_field(self, field_id: str) -> Field | None:
        i = self.field_index(field_id)
        return None if i is None else self.fields[i]

    def iter_cells(self, kind: CellKind | None = None) -> Iterator[tuple[Field, Cell]]:
        """Every ``(field, cell)``, in capture then detection order; optionally one kind."""
        for f in self.fields:
            for c in f.cells:
                if kind is None or c.kind is kind:
                    yield f, c

    def count(self, kind: CellKind) -> int:
        """Number of detected cells of one kind over all fields."""
        return sum(f.count(kind) for f in self.fields)

    # -- edits (new cases) -----------------------------------------------------------
    def add_field(self, new: Field) -> Case:
        """The field appended."""
        return self.insert_field(len(self.fields), new)

    def insert_field(self, index: int, new: Field) -> Case:
        fields = list(self.fields)
        fields.insert(index, new)
        return replace(self, fields=tuple(fields))

    def with_field(self, index: int, new: Field) -> Case:
        """The field at ``index`` replaced."""
        fields = list(self.fields)
        fields[index] = new
        return replace(self, fields=tuple(fields))

    def without_field(self, index: int) -> Case:
        fields = list(self.fields)
        del fields[index]
        return replace(self, fields=tuple(fields))

    def with_info(self, info: CaseInfo) -> Case:
        return replace(self, info=info)

    def with_manual_counts(self, counts: Mapping[str, int]) -> Case:
        return replace(self, manual_counts=Counts(counts))

    def apply(self, command: CaseCommand) -> Case:
        """``command.apply(self)``: prefer :class:`UndoHistory` to keep undo."""
        return command.apply(self)
