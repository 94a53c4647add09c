"""The differential tally of a case: counts, percentages, intervals, flags, progress.

A `Tally` is computed from a `Case` by a pure function and never edited.

- Counted: the effective class of every WBC-kind cell in every field, plus the case's
  manual (eyepiece) counts. Cells marked ``uncounted`` (already counted in an earlier,
  overlapping field, or cut by the field's edge: see `overlap`) stay out.
- Denominator: the sum of the classes with ``in_differential`` (the WBC counted).
  Percentages and their Clopper-Pearson intervals are of this denominator. Classes outside
  the differential (NRBC, smudge, artefact, platelet) get a value per 100 WBC instead.
- NRBC: erythroblasts per 100 WBC; when the case has an analyser WBC count, the corrected
  WBC count is ``WBC x 100 / (100 + NRBC per 100 WBC)``.
- Absolute counts (x10^9/L) are ``% / 100 x corrected WBC count``: the corrected count
  equals the analyser count when no NRBC were seen, and removes the NRBC the analyser
  counted as white cells when some were.
- Subtotals: a class that others count as (``counted_as``) gets a total row when one of
  those others was counted: immature granulocytes, total (IG not staged, promyelocytes,
  myelocytes, metamyelocytes), neutrophils, total (segmented and band). The classes stay
  separate rows too; a subtotal is flagged against the group class's reference range.
- Flags compare the percentage rounded for display (1 decimal, half up; see
  :func:`round_half_up`) with the reference range, bounds inclusive.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from .case import Case
from .counts import Counts
from .estimates import corrected_wbc_count, nrbc_per_100_wbc
from .reference import DEFAULT_REFERENCE, Flag, ReferenceSet
from .stats import Interval, clopper_pearson
from .taxonomy import DEFAULT_TAXONOMY, NRBC_ID, CellKind, Taxonomy

__all__ = ["FIVE_PART_IDS", "ClassTally", "FivePart", "Tally", "five_part", "round_half_up"]

logger = logging.getLogger(__name__)

#: The groups of a 5-part differential, as an analyser reports them.
FIVE_PART_IDS = ("neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil")


def round_half_up(value: float, decimals: int = 1) -> float:
    """Round as printed on a report: half away from zero, on the shortest decimal repr.

    ``round_half_up(12.25) == 12.3`` where ``round(12.25, 1) == 12.2``.
    """
    quantum = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class ClassTally:
    """One row of the tally.

    ``percent`` (of the denominator) and ``ci`` (proportions, e.g. 0.127-0.292) are set
    for differential classes when the denominator is > 0; ``per_100_wbc`` for the other
    classes. ``absolute`` is x10^9/L, set when the case has a WBC count: for differential
    classes and for NRBC.
    """

    class_id: str
    display_name: str
    count: int
    in_differential: bool
    percent: float | None
    ci: Interval | None
    per_100_wbc: float | None
    absolute: float | None
    flag: Flag | None
    abs_flag: Flag | None

    @property
    def percent_rounded(self) -> float | None:
        return None if self.percent is None else round_half_up(self.percent, 1)

    @property
    def ci_percent(self) -> tuple[float, float] | None:
        return None if self.ci is None else self.ci.as_percent()


@dataclass(frozen=True, slots=True)
class FivePart:
    """A 5-part grouping: bands counted as neutrophils (``counted_as``).

    ``other`` counts the differential cells in no group (immature granulocytes,
    blasts); the denominator is that of the full differential.
    """

    counts: Counts
    other: int
    denominator: int

    def percent(self, group_id: str) -> float | None:
        if self.denominator == 0:
            return None
        return 100.0 * self.counts.get_count(group_id) / self.denominator


def five_part(counts: Mapping[str, int], taxonomy: Taxonomy = DEFAULT_TAXONOMY) -> FivePart:
    """Group class counts into the five analyser groups (unknown ids are ignored)."""
    grouped: Counter[str] = Counter()
    other = denominator = 0
    for class_id, n in counts.items():
        cls = taxonomy.get(class_id)
        if cls is None or not cls.in_differential:
            continue
        denominator += n
        group = taxonomy.group_of(class_id)
        if group in FIVE_PART_IDS:
            grouped[group] += n
        else:
            other += n
    return FivePart(Counts(grouped), other, denominator)


@dataclass(frozen=True, slots=True)
class Tally:
    """The differential of a case. Build with :meth:`from_case`."""

    rows: tuple[ClassTally, ...]
    counts: Counts
    unknown: Counts
    unclassified: int
    denominator: int
    target: int
    nrbc_per_100: float | None
    wbc_count: float | None
    corrected_wbc_count: float | None
    pending_review: int
    corrected: int
    manual_total: int
    n_fields: int
    confidence: float
    reference_name: str
    taxonomy: Taxonomy = field(default=DEFAULT_TAXONOMY, compare=False, repr=False)
    #: Group totals (``class_id`` is the group's class), see the module docstring.
    subtotals: tuple[ClassTally, ...] = ()

    @classmethod
    def from_case(
        cls,
        case: Case,
        taxonomy: Taxonomy = DEFAULT_TAXONOMY,
        target: int = 100,
        reference: ReferenceSet = DEFAULT_REFERENCE,
        confidence: float = 0.95,
    ) -> Tally:
        """Compute the tally. ``target`` is the number of WBC to count (any int > 0)."""
        if isinstance(target, bool) or not isinstance(target, int) or target <= 0:
            raise ValueError(f"target must be a positive int, got {target!r}")
        counted: Counter[str] = Counter()
        unclassified = pending = corrected = 0
        for _, cell in case.iter_cells():
            pending += cell.pending_review
            corrected += cell.corrected
            if cell.kind is not CellKind.WBC or not cell.counted:
                continue
            if cell.effective_class is None:
                unclassified += 1
            else:
                counted[cell.effective_class] += 1
        counted.update(case.manual)
        known = Counts({k: v for k, v in counted.items() if k in taxonomy})
        unknown = Counts({k: v for k, v in counted.items() if k not in taxonomy})
        if unknown:
            logger.warning(
                "case %s: classes not in the taxonomy left out of the tally: %s",
                case.info.sample_id,
                dict(unknown),
            )
        denominator = sum(known.get_count(c) for c in taxonomy.differential_ids())
        nrbc = (
            nrbc_per_100_wbc(known.get_count(NRBC_ID), denominator) if NRBC_ID in taxonomy else None
        )
        wbc = case.info.wbc_count
        wbc_corr = None if wbc is None or nrbc is None else corrected_wbc_count(wbc, nrbc)
        rows = tuple(
            _row(
                c.id,
                c.display_name,
                c.in_differential,
                known.get_count(c.id),
                denominator,
                wbc_corr,
                reference,
                confidence,
            )
            for c in taxonomy
        )
        subtotals = []
        for c in taxonomy:
            members = taxonomy.members_of(c.id) if c.in_differential else ()
            if any(known.get_count(m) for m in members):
                total = known.get_count(c.id) + sum(known.get_count(m) for m in members)
                name = f"{c.display_name.split(' (')[0]}, total"
                subtotals.append(
                    _row(c.id, name, True, total, denominator, wbc_corr, reference, confidence)
                )
        return cls(
            rows,
            known,
            unknown,
            unclassified,
            denominator,
            target,
            nrbc,
            wbc,
            wbc_corr,
            pending,
            corrected,
            case.manual.total(),
            len(case.fields),
            confidence,
            reference.name,
            taxonomy,
            tuple(subtotals),
        )

    # -- progress --------------------------------------------------------------------
    @property
    def target_reached(self) -> bool:
        return self.denominator >= self.target

    @property
    def remaining(self) -> int:
        """WBC still to count to reach the target (0 once reached)."""
        return max(0, self.target - self.denominator)

    @property
    def progress(self) -> float:
        """Fraction of the target counted, in [0, 1]."""
        return min(1.0, self.denominator / self.target)

    # -- access ----------------------------------------------------------------------
    def row(self, class_id: str) -> ClassTally:
        for r in self.rows:
            if r.class_id == class_id:
                return r
        raise KeyError(f"no tally row for {class_id!r}")

    def count(self, class_id: str) -> int:
        return self.counts.get_count(class_id)

    def percentages(self) -> dict[str, float]:
        """Unrounded % of each differential class (empty when nothing counted)."""
        return {r.class_id: r.percent for r in self.rows if r.percent is not None}

    def flags(self) -> dict[str, Flag]:
        """Class id -> ``"H"``/``"L"`` for the rows out of range."""
        return {r.class_id: r.flag for r in self.rows if r.flag is not None}

    def five_part(self) -> FivePart:
        return five_part(self.counts, self.taxonomy)

    def subtotal(self, class_id: str) -> ClassTally | None:
        """The total of ``class_id`` and the classes counted as it, if any was counted."""
        return next((r for r in self.subtotals if r.class_id == class_id), None)

    def listed_rows(self) -> tuple[ClassTally, ...]:
        """The rows a differential shows: every class always listed, the others (the
        finer manual classes, see `CellClass.always_listed`) when counted."""
        taxonomy = self.taxonomy
        return tuple(
            r
            for r in self.rows
            if r.count > 0 or r.class_id not in taxonomy or taxonomy[r.class_id].always_listed
        )

    def listed_with_subtotals(self) -> tuple[tuple[ClassTally, bool], ...]:
        """:meth:`listed_rows`, each group's total (marked ``True``) after the group's last
        row: immature granulocytes, total after the IG stages counted."""
        rows = self.listed_rows()
        taxonomy = self.taxonomy

        def group(row: ClassTally) -> str | None:
            return taxonomy.group_of(row.class_id) if row.class_id in taxonomy else None

        out: list[tuple[ClassTally, bool]] = []
        for i, row in enumerate(rows):
            out.append((row, False))
            total = self.subtotal(g) if (g := group(row)) is not None else None
            if total is not None and all(group(r) != g for r in rows[i + 1 :]):
                out.append((total, True))
        return tuple(out)


def _row(
    class_id: str,
    name: str,
    in_diff: bool,
    count: int,
    denominator: int,
    wbc: float | None,
    reference: ReferenceSet,
    confidence: float,
) -> ClassTally:
    percent = ci = per_100 = absolute = None
    flag = abs_flag = None
    rng = reference.get(class_id)
    if in_diff:
        if denominator > 0:
            percent = 100.0 * count / denominator
            ci = clopper_pearson(count, denominator, confidence)
            if wbc is not None:
                absolute = percent / 100.0 * wbc
            if rng is not None:
                flag = rng.flag(round_half_up(percent, 1))
                abs_flag = rng.flag_absolute(absolute)
    elif denominator > 0:
        per_100 = 100.0 * count / denominator
        if class_id == NRBC_ID and wbc is not None:
            absolute = per_100 / 100.0 * wbc
    return ClassTally(
        class_id, name, count, in_diff, percent, ci, per_100, absolute, flag, abs_flag
    )
