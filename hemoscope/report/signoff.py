"""Sign-off of a differential: refused while cells flagged for review are unconfirmed.

The window shows :func:`pending_review_cells` (warning), lets the technician confirm
or relabel them (or confirm all with :func:`confirm_pending`, each command applied and
audited like any correction), then calls :func:`sign_off`, which raises
`PendingReviewError` while any remain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from hemoscope.core import (
    DEFAULT_TAXONOMY,
    Case,
    Confirm,
    FlagCounts,
    SignOff,
    Taxonomy,
    count_flags,
)

__all__ = [
    "PendingCell",
    "PendingReviewError",
    "SignOff",
    "confirm_pending",
    "pending_flags",
    "pending_review_cells",
    "sign_off",
]


@dataclass(frozen=True, slots=True)
class PendingCell:
    """A cell flagged for review with no human decision yet, and why it was flagged."""

    field_id: str
    cell_id: str
    field_index: int
    auto_class: str | None
    probability: float | None
    review_reason: str = ""


class PendingReviewError(ValueError):
    """Sign-off refused: the listed cells still need a human decision."""

    def __init__(self, sample_id: str, cells: tuple[PendingCell, ...]) -> None:
        self.cells = cells
        super().__init__(
            f"Case {sample_id!r} cannot be signed off: {len(cells)} cell(s) flagged for review "
            "are not confirmed. Confirm or relabel them, then sign off."
        )


def pending_review_cells(case: Case) -> tuple[PendingCell, ...]:
    """The cells flagged for review and not yet confirmed or relabelled, in case order."""
    return tuple(
        PendingCell(f.id, c.id, i, c.auto_class, c.probability, c.review_reason)
        for i, f in enumerate(case.fields)
        for c in f.cells
        if c.pending_review
    )


def pending_flags(case: Case) -> FlagCounts:
    """The cells awaiting review, counted by the reason they were flagged."""
    return count_flags(c for _, c in case.iter_cells() if c.pending_review)


def confirm_pending(case: Case, taxonomy: Taxonomy = DEFAULT_TAXONOMY) -> list[Confirm]:
    """Commands that accept the automatic class of every pending cell that has one.

    Apply each through the store (each is audited as a ``"confirm"``). A pending cell
    without an automatic class cannot be confirmed and is left for the technician to
    classify: it keeps sign-off refused.
    """
    return [
        Confirm(p.field_id, p.cell_id, taxonomy=taxonomy)
        for p in pending_review_cells(case)
        if p.auto_class is not None
    ]


def sign_off(
    case: Case, *, performed_by: str, reviewed_by: str, at: datetime | None = None
) -> SignOff:
    """The sign-off of ``case``.

    Raises:
        PendingReviewError: cells flagged for review remain unconfirmed.
        ValueError: no reviewer named.
    """
    if not reviewed_by.strip():
        raise ValueError("sign-off needs the name of the reviewer")
    pending = pending_review_cells(case)
    if pending:
        raise PendingReviewError(case.info.sample_id, pending)
    return SignOff(performed_by.strip(), reviewed_by.strip(), at or datetime.now(UTC))
