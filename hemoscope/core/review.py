"""Why a cell is flagged for review: the reasons, their display text, and the stored form.

A cell flagged for the technician (`Cell.review`) records why in `Cell.review_reason`:
one reason, or several joined by ``"; "`` (:func:`join_reasons`, :func:`split_reasons`).
An empty reason on a flagged cell means the flag predates the reasons (old data).

The reasons the pipeline and the single-cell classifier give are the ``REASON_*``
constants; each has a display label and a one-line description (:data:`REVIEW_REASONS`).
A reason outside the vocabulary (written by a newer version) is kept and shown as it is.

:func:`count_flags` counts flagged cells by reason for reports and summaries. A cell
with two reasons counts once in the total and once under each reason, so the reasons
may add up to more than the total.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "REASON_DISAGREE",
    "REASON_LOW_CONFIDENCE",
    "REASON_NOT_RECORDED",
    "REASON_NO_CELL",
    "REASON_NO_WHITE_CELL",
    "REASON_SEPARATOR",
    "REASON_UNFAMILIAR",
    "REVIEW_REASONS",
    "SENSITIVITY_STAMP",
    "STANDARD_SENSITIVITY",
    "FlagCounts",
    "ReviewReason",
    "count_flags",
    "join_reasons",
    "reason_description",
    "reason_label",
    "split_reasons",
]

REASON_LOW_CONFIDENCE = "low confidence"
REASON_UNFAMILIAR = "unfamiliar"
REASON_DISAGREE = "detector and classifier disagree"
REASON_NO_WHITE_CELL = "no white cell found"
REASON_NO_CELL = "no cell found"
REASON_SEPARATOR = "; "
REASON_NOT_RECORDED = "reason not recorded"
"""The name under which :func:`count_flags` counts flagged cells without a reason."""

STANDARD_SENSITIVITY = "standard"
"""The review sensitivity every model has: unstamped, the default everywhere
(`vision.unfamiliar.SENSITIVITIES` holds the stricter levels' quantiles)."""

SENSITIVITY_STAMP = "review sensitivity"
"""The name under which a stricter review sensitivity to unfamiliar cells (the setting
for samples where blasts are suspected) is stamped on the fields it analysed, beside the
models (`ModelStamp`); the standard sensitivity goes unstamped."""


@dataclass(frozen=True, slots=True)
class ReviewReason:
    """A reason for review: ``id`` is what is stored, ``label`` what a caption shows,
    ``description`` what a tooltip explains."""

    id: str
    label: str
    description: str


REVIEW_REASONS: Mapping[str, ReviewReason] = {
    r.id: r
    for r in (
        ReviewReason(
            REASON_LOW_CONFIDENCE, "Low confidence", "the classifier is unsure of the class"
        ),
        ReviewReason(
            REASON_UNFAMILIAR,
            "Unfamiliar cell",
            "the cell looks unlike any class the classifier knows "
            "(a blast, smudge cell, artefact or a cell out of focus?)",
        ),
        ReviewReason(
            REASON_DISAGREE,
            "Detector and classifier disagree",
            "the detector found a white cell of a white cell's size, "
            "the classifier named a platelet or red cell",
        ),
        ReviewReason(
            REASON_NO_WHITE_CELL, "No white cell found", "the detector found no white cell here"
        ),
        ReviewReason(REASON_NO_CELL, "No cell found", "the detector found no cell at all here"),
    )
}


def join_reasons(reasons: Iterable[str]) -> str:
    """The stored form of several reasons: in the order given, each once, blanks dropped.

    ``join_reasons([])`` is ``""``. Raises ``ValueError`` for a reason holding ``";"``
    (the separator) or a line break, ``TypeError`` when given one string instead of an
    iterable of them.
    """
    if isinstance(reasons, str):
        raise TypeError("join_reasons takes an iterable of reasons, not one string")
    kept: dict[str, None] = {}
    for reason in reasons:
        if not isinstance(reason, str):
            raise TypeError(f"a review reason must be a str, got {reason!r}")
        text = reason.strip()
        if ";" in text or "\n" in text or "\r" in text:
            raise ValueError(f"a review reason cannot hold ';' or a line break: {reason!r}")
        if text:
            kept[text] = None
    return REASON_SEPARATOR.join(kept)


def split_reasons(text: str) -> tuple[str, ...]:
    """The reasons of a stored ``review_reason`` (``""`` gives ``()``), each once."""
    parts = (p.strip() for p in text.split(";"))
    return tuple(dict.fromkeys(p for p in parts if p))


def reason_label(reason: str) -> str:
    """Display label of one reason ("Low confidence"); an unknown reason as it is, with a
    capital; ``""`` is :data:`REASON_NOT_RECORDED`."""
    known = REVIEW_REASONS.get(reason)
    if known is not None:
        return known.label
    text = reason.strip() or REASON_NOT_RECORDED
    return text[:1].upper() + text[1:]


def reason_description(reason: str) -> str:
    """``"Label: description"`` of one reason (the label alone for an unknown one)."""
    known = REVIEW_REASONS.get(reason)
    return reason_label(reason) if known is None else f"{known.label}: {known.description}"


class _Flaggable(Protocol):
    @property
    def review(self) -> bool: ...
    @property
    def review_reason(self) -> str: ...


@dataclass(frozen=True, slots=True)
class FlagCounts:
    """Cells flagged for review, in all and per reason.

    ``reasons`` is ``(reason, cells)`` pairs: the vocabulary's reasons in its order, then
    other reasons alphabetically, then :data:`REASON_NOT_RECORDED`; only reasons that
    occur.
    """

    flagged: int = 0
    reasons: tuple[tuple[str, int], ...] = ()

    @property
    def by_reason(self) -> dict[str, int]:
        return dict(self.reasons)

    def breakdown(self) -> str:
        """``"low confidence 7, unfamiliar 3"`` (``""`` when nothing is flagged)."""
        return ", ".join(f"{reason} {n}" for reason, n in self.reasons)

    def text(self) -> str:
        """``"12 (low confidence 7, unfamiliar 3, ...)"``, or ``"0"``."""
        detail = self.breakdown()
        return f"{self.flagged} ({detail})" if detail else str(self.flagged)

    def line(self, prefix: str = "Flagged for review") -> str:
        """``"Flagged for review: 12 (low confidence 7, ...)"``."""
        return f"{prefix}: {self.text()}"


def _order(reason: str) -> tuple[int, int, str]:
    known = list(REVIEW_REASONS)
    if reason in REVIEW_REASONS:
        return (0, known.index(reason), "")
    return (2, 0, "") if reason == REASON_NOT_RECORDED else (1, 0, reason)


def count_flags(cells: Iterable[_Flaggable]) -> FlagCounts:
    """Count the flagged cells among ``cells`` by reason (a flagged cell without a reason
    counts under :data:`REASON_NOT_RECORDED`)."""
    flagged = 0
    counts: Counter[str] = Counter()
    for cell in cells:
        if not cell.review:
            continue
        flagged += 1
        counts.update(split_reasons(cell.review_reason) or (REASON_NOT_RECORDED,))
    ordered = sorted(counts.items(), key=lambda item: _order(item[0]))
    return FlagCounts(flagged, tuple(ordered))
