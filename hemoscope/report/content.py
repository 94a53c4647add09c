"""The numbers of a differential report, computed from a case without any Qt.

The PDF, the printout and the summary export all read the same `ReportContent`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from hemoscope.core import (
    Case,
    CellKind,
    ClassTally,
    FlagCounts,
    SmearEstimates,
    Tally,
    count_flags,
    smear_estimates,
)

from .settings import ReportSettings, with_case_models
from .signoff import PendingCell, pending_flags, pending_review_cells

__all__ = ["ReportContent", "ReviewCounts", "report_content"]


@dataclass(frozen=True, slots=True)
class ReviewCounts:
    """What the technician did to the automatic calls.

    ``nucleated``: white-cell-kind cells in the fields (the differential and NRBC, smudge
    cells...); ``reviewed``: those with a human decision (confirmed or
    relabelled); ``corrected``: cells whose final class differs from the automatic one;
    ``added``: cells added by hand; ``pending``: cells flagged for review still without
    a decision; ``manual_counts``: cells counted at the eyepiece without images.
    """

    nucleated: int
    reviewed: int
    corrected: int
    added: int
    pending: int
    manual_counts: int


@dataclass(frozen=True, slots=True)
class ReportContent:
    """Everything a report shows, computed once.

    ``flags``: the cells the machine flagged for review, by reason (decided ones too);
    :attr:`pending_flags`: those still without a human decision.
    """

    case: Case
    tally: Tally
    estimates: SmearEstimates
    review: ReviewCounts
    pending: tuple[PendingCell, ...]
    generated_at: datetime
    settings: ReportSettings
    flags: FlagCounts

    @property
    def differential_rows(self) -> tuple[ClassTally, ...]:
        """The differential classes listed: all but the finer manual classes (promyelocyte,
        plasma cell...), which are listed when counted."""
        return tuple(r for r in self.tally.listed_rows() if r.in_differential)

    @property
    def differential_table(self) -> tuple[tuple[ClassTally, bool], ...]:
        """:attr:`differential_rows` with the group totals (``True``) after each group:
        immature granulocytes, total after the IG stages counted (`Tally.subtotals`)."""
        return tuple(x for x in self.tally.listed_with_subtotals() if x[0].in_differential)

    @property
    def other_rows(self) -> tuple[ClassTally, ...]:
        """Counted classes outside the differential (NRBC, smudge, artefact...)."""
        return tuple(r for r in self.tally.rows if not r.in_differential and r.count > 0)

    @property
    def preliminary(self) -> bool:
        """Cells await review: the report may be printed but not signed off."""
        return bool(self.pending)

    @property
    def pending_flags(self) -> FlagCounts:
        """The cells awaiting review, by reason."""
        return pending_flags(self.case)


def _review(case: Case) -> ReviewCounts:
    wbc = reviewed = corrected = added = pending = 0
    for _, cell in case.iter_cells():
        corrected += cell.corrected
        added += cell.manual
        pending += cell.pending_review
        if cell.kind is CellKind.WBC:
            wbc += 1
            reviewed += cell.final_class is not None
    return ReviewCounts(wbc, reviewed, corrected, added, pending, case.manual.total())


def report_content(
    case: Case, settings: ReportSettings | None = None, *, now: datetime | None = None
) -> ReportContent:
    """Compute the report's numbers for ``case``."""
    s = with_case_models(settings or ReportSettings(), case)
    tally = Tally.from_case(case, s.taxonomy, s.target, s.reference)
    estimates = smear_estimates(
        case, s.taxonomy, platelet_factor=s.platelet_factor, wbc_factor=s.wbc_factor
    )
    pending = pending_review_cells(case)
    when = now or datetime.now(UTC)
    flags = count_flags(c for _, c in case.iter_cells())
    return ReportContent(case, tally, estimates, _review(case), pending, when, s, flags)
