"""Is a case's share of unfamiliar white cells unusual for its microscope?

A calibrated microscope's profile records how often the classifier flags that
microscope's ordinary white cells unfamiliar (`vision.lab_profile.UsualUnfamiliar`). A
sample with cells of a kind the classifier never learnt (blasts, above all) has many more:
on the training laboratory's cells about 1 % are flagged, of a class the classifier
never saw about half. `unusual` tests a case's count against the usual share with a
one-sided binomial test: the chance of at least that many unfamiliar cells among those
classified, were the case an ordinary one of this microscope, below `P_VALUE`; and at
least twice the usual share, so that a large case does not raise the alarm over a small
excess. The station then suggests the high review sensitivity for the rest of the case
and the cells captured already (Count ▸ Blasts Suspected).

Where the usual share is already high (a microscope whose stain the classifier knows
poorly: a third of bionet's cells), a population of blasts adds little to it, and the
test stays silent: the flag of each cell still stands.
"""

from __future__ import annotations

import math

from hemoscope.core.case import Case
from hemoscope.core.review import REASON_UNFAMILIAR
from hemoscope.core.taxonomy import CellKind

__all__ = [
    "MIN_CELLS",
    "MIN_UNFAMILIAR",
    "P_VALUE",
    "binomial_tail",
    "unfamiliar_count",
    "unusual",
]

MIN_CELLS = 20
"""Classified white cells a case needs before it is compared."""
MIN_UNFAMILIAR = 5
"""Unfamiliar cells a case needs before it is called unusual."""
P_VALUE = 0.001
"""How unlikely the count must be for an ordinary case of the microscope."""
USUAL_FLOOR = 0.005
"""The usual share is taken as at least this (a calibration of few cells may have seen
none unfamiliar)."""


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p
        + (n - i) * log_q
        for i in range(k, n + 1)
    ]  # fmt: skip
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def unusual(unfamiliar: int, classified: int, usual_share: float) -> bool:
    """Whether ``unfamiliar`` of ``classified`` white cells is far more than the
    microscope's ``usual_share`` (module docstring)."""
    if classified < MIN_CELLS or unfamiliar < MIN_UNFAMILIAR:
        return False
    p = max(float(usual_share), USUAL_FLOOR)
    if unfamiliar < 2 * p * classified:
        return False
    return binomial_tail(unfamiliar, classified, p) < P_VALUE


def unfamiliar_count(case: Case | None) -> tuple[int, int]:
    """The case's classified white cells (those the tally counts) and how many of them
    carry the unfamiliar reason."""
    if case is None:
        return 0, 0
    classified = unfamiliar = 0
    for _, cell in case.iter_cells(CellKind.WBC):
        if cell.auto_class is None or cell.uncounted:
            continue
        classified += 1
        if cell.flagged_for(REASON_UNFAMILIAR):
            unfamiliar += 1
    return classified, unfamiliar
