"""Smear estimates: platelet and WBC counts from cells per field, and the NRBC correction.

These are screening estimates from a stained smear, not counts: every result carries
``is_estimate = True`` so that reports label it as such.

- Platelets: mean platelets per oil-immersion (x100) field x a factor, conventionally
  15,000-20,000 /µL (default 15,000). The factor depends on the microscope's field
  number; the laboratory should check it against analyser counts.
- WBC: mean WBC per field x a laboratory-set factor; there is no default, and without
  one no WBC estimate is given.
- NRBC: nucleated red cells per 100 WBC counted; WBC corrected = WBC x 100 / (100 + NRBC).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .case import Case
from .cells import Cell
from .taxonomy import DEFAULT_TAXONOMY, CellKind, Taxonomy

__all__ = [
    "DEFAULT_PLATELET_FACTOR",
    "PLATELET_FACTOR_RANGE",
    "SmearEstimate",
    "SmearEstimates",
    "corrected_wbc_count",
    "effective_kind",
    "nrbc_per_100_wbc",
    "platelet_estimate",
    "platelets_per_field",
    "reported_class",
    "smear_estimates",
    "wbc_estimate",
    "wbc_per_field",
]

DEFAULT_PLATELET_FACTOR = 15_000.0
#: The conventional range of the platelet factor, /µL per platelet per x100 field.
PLATELET_FACTOR_RANGE = (15_000.0, 20_000.0)


@dataclass(frozen=True, slots=True)
class SmearEstimate:
    """An estimate in cells /µL from cells counted per field."""

    name: str
    value: float
    mean_per_field: float
    n_fields: int
    factor: float
    unit: str = "/µL"
    is_estimate: bool = True

    @property
    def value_1e9_per_l(self) -> float:
        """The value in x10^9/L (1 x10^9/L = 1,000 /µL)."""
        return self.value / 1000.0


def _check_factor(factor: float) -> None:
    if not (math.isfinite(factor) and factor > 0):
        raise ValueError(f"estimate factor must be > 0, got {factor}")


def _mean(per_field: Sequence[int]) -> float | None:
    if any(n < 0 for n in per_field):
        raise ValueError("cells per field cannot be negative")
    return sum(per_field) / len(per_field) if per_field else None


def platelet_estimate(
    per_field: Sequence[int], factor: float = DEFAULT_PLATELET_FACTOR
) -> SmearEstimate | None:
    """Platelets /µL = mean platelets per field x ``factor``; ``None`` with no fields."""
    _check_factor(factor)
    mean = _mean(per_field)
    if mean is None:
        return None
    return SmearEstimate("platelets", mean * factor, mean, len(per_field), factor)


def wbc_estimate(per_field: Sequence[int], factor: float | None) -> SmearEstimate | None:
    """WBC /µL = mean WBC per field x the lab's ``factor``.

    ``None`` when the factor is not set or there are no fields.
    """
    if factor is None:
        return None
    _check_factor(factor)
    mean = _mean(per_field)
    if mean is None:
        return None
    return SmearEstimate("wbc", mean * factor, mean, len(per_field), factor)


def nrbc_per_100_wbc(nrbc: int, wbc: int) -> float | None:
    """Nucleated red cells per 100 WBC counted; ``None`` when no WBC were counted."""
    if nrbc < 0 or wbc < 0:
        raise ValueError("counts cannot be negative")
    return None if wbc == 0 else 100.0 * nrbc / wbc


def corrected_wbc_count(wbc_count: float, nrbc_per_100: float) -> float:
    """WBC corrected for NRBC: ``wbc_count x 100 / (100 + nrbc_per_100)``.

    Analysers count NRBC as white cells; this removes them. Same unit as ``wbc_count``.
    """
    if wbc_count < 0 or nrbc_per_100 < 0:
        raise ValueError("WBC count and NRBC per 100 WBC cannot be negative")
    return wbc_count * 100.0 / (100.0 + nrbc_per_100)


def effective_kind(cell: Cell, taxonomy: Taxonomy = DEFAULT_TAXONOMY) -> CellKind:
    """The kind of the cell's effective class when the taxonomy knows it, else its kind."""
    cls = None if cell.effective_class is None else taxonomy.get(cell.effective_class)
    return cell.kind if cls is None else cls.kind


def reported_class(cell: Cell, taxonomy: Taxonomy = DEFAULT_TAXONOMY) -> str | None:
    """The class id an export gives a cell: its effective class; for an unclassified
    cell that counts as a platelet, the taxonomy's platelet class; else None (a red
    cell, or a white cell nobody classified)."""
    if cell.effective_class is not None:
        return cell.effective_class
    if effective_kind(cell, taxonomy) is CellKind.PLATELET:
        platelet = taxonomy.of_kind(CellKind.PLATELET)
        return platelet[0].id if platelet else None
    return None


def platelets_per_field(case: Case, taxonomy: Taxonomy = DEFAULT_TAXONOMY) -> list[int]:
    """Platelets in each field: cells whose effective kind is platelet."""
    return [
        sum(1 for c in f.cells if effective_kind(c, taxonomy) is CellKind.PLATELET)
        for f in case.fields
    ]


def wbc_per_field(case: Case, taxonomy: Taxonomy = DEFAULT_TAXONOMY) -> list[int]:
    """White cells in each field: effective kind WBC, and unclassified or in the differential."""

    def counts(c: Cell) -> bool:
        if effective_kind(c, taxonomy) is not CellKind.WBC:
            return False
        cls = None if c.effective_class is None else taxonomy.get(c.effective_class)
        return cls is None or cls.in_differential

    return [sum(1 for c in f.cells if counts(c)) for f in case.fields]


@dataclass(frozen=True, slots=True)
class SmearEstimates:
    """Both smear estimates of a case (each ``None`` when not available)."""

    platelets: SmearEstimate | None
    wbc: SmearEstimate | None


def smear_estimates(
    case: Case,
    taxonomy: Taxonomy = DEFAULT_TAXONOMY,
    *,
    platelet_factor: float = DEFAULT_PLATELET_FACTOR,
    wbc_factor: float | None = None,
) -> SmearEstimates:
    """Platelet and WBC estimates from a case's captured fields."""
    return SmearEstimates(
        platelet_estimate(platelets_per_field(case, taxonomy), platelet_factor),
        wbc_estimate(wbc_per_field(case, taxonomy), wbc_factor),
    )
