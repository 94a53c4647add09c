"""The review threshold of a labelled laboratory profile (`vision.lab_adapt`).

The card's review threshold (0.90) flags every cell the classifier calls with less
probability. A profile fitted on a laboratory's labelled cells knows, from its cells'
held-back (cross-validated) calls, how often its calls above a lower threshold are
right; it may lower the threshold as far as they stay right `REVIEW_ACCURACY` of the
time. The classifier uses a profile's threshold at the standard review sensitivity only
(`Classifier.review_threshold`); the unfamiliar-cell flag is never touched.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "MIN_REVIEW_CELLS",
    "REVIEW_ACCURACY",
    "REVIEW_GRID",
    "review_figures",
    "review_threshold_for",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

REVIEW_ACCURACY = 0.97
"""A profile lowers the review threshold only while its own cells called with at least
that probability (cross-validated) are right this often."""
REVIEW_GRID = (0.85, 0.8, 0.7, 0.6, 0.5)
"""Review thresholds a profile may take, tried from the highest down."""
MIN_REVIEW_CELLS = 20
"""Fewest cells above a threshold that can show it keeps `REVIEW_ACCURACY`."""


def review_threshold_for(
    probabilities: npt.ArrayLike, labels: npt.ArrayLike, card_threshold: float | None
) -> float | None:
    """The review threshold a profile takes from its cells' cross-validated
    ``probabilities``: going down `REVIEW_GRID` (thresholds below ``card_threshold``), the
    last one at which the cells called with at least that probability are at least
    `MIN_REVIEW_CELLS` and right at least `REVIEW_ACCURACY` of the time, as at every
    threshold above it; None (the card's) when the first does not qualify."""
    if card_threshold is None:
        return None
    p = np.asarray(probabilities, np.float64)
    if not len(p):
        return None
    conf = p.max(axis=1)
    right = p.argmax(axis=1) == np.asarray(labels)
    chosen = None
    for t in REVIEW_GRID:
        if t >= card_threshold:
            continue
        kept = conf >= t
        if int(kept.sum()) < MIN_REVIEW_CELLS or float(right[kept].mean()) < REVIEW_ACCURACY:
            break
        chosen = t
    return chosen


def review_figures(p: F64, y: I64, threshold: float) -> dict[str, float]:
    """The held-back cells' low-confidence flags at ``threshold``: how many are flagged,
    how often those left are right."""
    kept = p.max(axis=1) >= float(threshold)
    right = p.argmax(axis=1) == y
    return {
        "threshold": float(threshold),
        "flagged": round(float(1 - kept.mean()), 4),
        "unflagged_right": round(float(right[kept].mean()), 4) if kept.any() else 0.0,
    }
