"""Cells and fields: what the detector and classifier found in one captured image."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from .embedding import Embedding
from .geometry import Box
from .ids import new_id
from .review import split_reasons
from .taxonomy import CellKind

__all__ = ["Cell", "Field", "ModelStamp"]


def _check_unit(name: str, value: float) -> None:
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be in [0, 1], got {value}")


@dataclass(frozen=True, slots=True)
class ModelStamp:
    """A model that analysed a field: its name, version and the sha256 of its file."""

    name: str
    version: str
    sha256: str = ""

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]

    @classmethod
    def from_card(cls, card: Mapping[str, Any], name: str = "model") -> ModelStamp:
        """From a model card (``name``, ``version``, ``sha256`` keys); ``name`` when the
        card has none."""
        return cls(
            str(card.get("name", name)), str(card.get("version", "?")), str(card.get("sha256", ""))
        )

    def label(self) -> str:
        digest = f", sha256 {self.short_hash}" if self.sha256 else ""
        return f"{self.name} {self.version}{digest}"


@dataclass(frozen=True, slots=True)
class Cell:
    """One detected (or hand-added) object.

    Attributes:
        id: unique within its field (see :func:`new_id`).
        box: where it is, in the field's image pixels.
        kind: RBC, WBC or platelet, as detected.
        auto_class: the classifier's class id, ``None`` when not classified.
        final_class: the technician's class id, ``None`` until a human decides.
        score: detector confidence in [0, 1] (1.0 for hand-added cells).
        probability: classifier probability of ``auto_class`` in [0, 1], or ``None``.
        review: flagged for the technician to look at. It records the machine's flag
            and stays when a human decides (see `pending_review`).
        manual: added by a human.
        review_reason: why the cell is flagged: one reason or several joined by
            ``"; "`` (see :mod:`hemoscope.core.review`); ``""`` when not flagged, and
            on cells flagged before reasons were recorded. A reason needs ``review``.
        uncounted: why the cell is out of the tally although found: ``"already
            counted"`` (an earlier field of the case showed it) or ``"cut by the edge"``
            (see :mod:`hemoscope.core.overlap`); ``""`` for a cell that counts.
        embedding: the classifier's embedding of the cell (`Embedding`), ``None`` for
            cells not classified, drawn by hand, or saved before embeddings were kept.
            A by-product of the classification, not part of the cell's value: it takes
            no part in comparing cells, and corrections carry it over unchanged.
    """

    id: str
    box: Box
    kind: CellKind
    auto_class: str | None = None
    final_class: str | None = None
    score: float = 1.0
    probability: float | None = None
    review: bool = False
    manual: bool = False
    review_reason: str = ""
    uncounted: str = ""
    embedding: Embedding | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError("a cell needs a non-empty id")
        if not isinstance(self.box, Box):
            raise TypeError(f"Cell.box must be a Box, got {type(self.box).__name__}")
        if not isinstance(self.kind, CellKind):
            raise TypeError(f"Cell.kind must be a CellKind, got {self.kind!r}")
        for name in ("auto_class", "final_class"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"Cell.{name} must be a class id or None, got {value!r}")
        _check_unit("Cell.score", self.score)
        if self.probability is not None:
            _check_unit("Cell.probability", self.probability)
        if not isinstance(self.review_reason, str):
            raise TypeError(f"Cell.review_reason must be a str, got {self.review_reason!r}")
        if not isinstance(self.uncounted, str):
            raise TypeError(f"Cell.uncounted must be a str, got {self.uncounted!r}")
        if self.embedding is not None and not isinstance(self.embedding, Embedding):
            raise TypeError(f"Cell.embedding must be an Embedding, got {self.embedding!r}")
        if self.review_reason and not self.review:
            raise ValueError(
                f"Cell.review_reason {self.review_reason!r} given but the cell is not flagged"
            )

    @classmethod
    def create(
        cls,
        box: Box,
        kind: CellKind,
        *,
        auto_class: str | None = None,
        final_class: str | None = None,
        score: float = 1.0,
        probability: float | None = None,
        review: bool = False,
        manual: bool = False,
        review_reason: str = "",
        uncounted: str = "",
        embedding: Embedding | None = None,
    ) -> Cell:
        """A cell with a fresh id (``review_reason``: see :func:`~.review.join_reasons`)."""
        return cls(
            new_id(),
            box,
            kind,
            auto_class,
            final_class,
            score,
            probability,
            review,
            manual,
            review_reason,
            uncounted,
            embedding,
        )

    @property
    def effective_class(self) -> str | None:
        """The class that counts: the technician's if set, else the classifier's."""
        return self.final_class if self.final_class is not None else self.auto_class

    @property
    def corrected(self) -> bool:
        """Whether a human changed the classifier's call."""
        return self.final_class is not None and self.final_class != self.auto_class

    @property
    def counted(self) -> bool:
        """Whether the cell enters the tally (not already counted, not cut by the edge)."""
        return not self.uncounted

    def flagged_for(self, reason: str) -> bool:
        """Whether the cell is flagged for review with ``reason`` among its reasons."""
        return self.review and reason in split_reasons(self.review_reason)

    @property
    def pending_review(self) -> bool:
        """Flagged for review, no human decision yet, and counted (a cell outside the
        tally needs no decision)."""
        return self.review and self.final_class is None and not self.uncounted


@dataclass(frozen=True, slots=True)
class Field:
    """One captured microscope field and the cells in it.

    ``cells`` keeps detection order; cell ids are unique within the field. ``captured_at``
    should be timezone-aware (UTC); :meth:`create` uses the current UTC time. ``models``
    names the models that found and classified the cells (empty: none, e.g. a field
    whose cells were all drawn by hand).
    """

    id: str
    cells: tuple[Cell, ...]
    width: int
    height: int
    source: str
    captured_at: datetime
    models: tuple[ModelStamp, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError("a field needs a non-empty id")
        object.__setattr__(self, "cells", tuple(self.cells))
        for name in ("width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"Field.{name} must be a positive int, got {value!r}")
        ids = [c.id for c in self.cells]
        if len(set(ids)) != len(ids):
            dupes = sorted(k for k, n in Counter(ids).items() if n > 1)
            raise ValueError(f"duplicate cell ids in field {self.id}: {dupes}")
        if not isinstance(self.captured_at, datetime):
            raise TypeError("Field.captured_at must be a datetime")
        object.__setattr__(self, "models", tuple(self.models))

    @classmethod
    def create(
        cls,
        cells: Iterable[Cell],
        width: int,
        height: int,
        source: str = "",
        captured_at: datetime | None = None,
        models: Iterable[ModelStamp] = (),
    ) -> Field:
        """A field with a fresh id, captured now (UTC) unless given."""
        when = captured_at if captured_at is not None else datetime.now(UTC)
        return cls(new_id(), tuple(cells), width, height, source, when, tuple(models))

    # -- queries ---------------------------------------------------------------------
    def count(self, kind: CellKind) -> int:
        """Number of cells of one kind."""
        return sum(1 for c in self.cells if c.kind is kind)

    def kind_counts(self) -> dict[CellKind, int]:
        """Cells per kind; every kind present as a key."""
        counts = dict.fromkeys(CellKind, 0)
        for c in self.cells:
            counts[c.kind] += 1
        return counts

    @property
    def n_wbc(self) -> int:
        return self.count(CellKind.WBC)

    @property
    def n_rbc(self) -> int:
        return self.count(CellKind.RBC)

    @property
    def n_platelets(self) -> int:
        return self.count(CellKind.PLATELET)

    def index_of(self, cell_id: str) -> int | None:
        """Position of a cell in :attr:`cells`, or ``None``."""
        for i, c in enumerate(self.cells):
            if c.id == cell_id:
                return i
        return None

    def get(self, cell_id: str) -> Cell | None:
        i = self.index_of(cell_id)
        return None if i is None else self.cells[i]

    # -- edits (new fields) ----------------------------------------------------------
    def with_cell(self, index: int, cell: Cell) -> Field:
        """The cell at ``index`` replaced."""
        cells = list(self.cells)
        cells[index] = cell
        return replace(self, cells=tuple(cells))

    def inserting(self, index: int, cell: Cell) -> Field:
        """``cell`` inserted at ``index`` (appended when ``index >= len``)."""
        cells = list(self.cells)
        cells.insert(index, cell)
        return replace(self, cells=tuple(cells))

    def without(self, index: int) -> Field:
        """The cell at ``index`` removed."""
        cells = list(self.cells)
        del cells[index]
        return replace(self, cells=tuple(cells))
