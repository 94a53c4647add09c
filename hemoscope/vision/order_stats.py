"""The k-th largest value, exactly, without a full selection over every value.

The k-th largest of the maxima of short runs bounds the k-th largest value from below
(those k maxima are k values at least as large), so only the values reaching that bound
need a selection: a few hundred instead of tens of thousands. Used where a small order
statistic of a large array is needed per cell (`vision.focus`'s percentiles of a crop,
`vision.unfamiliar`'s k-th nearest training cell).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["kth_largest", "kth_largest_rows"]

RUN = 32
"""Values per run whose maximum bounds the selection."""


def kth_largest(values: npt.NDArray[Any], k: int) -> Any:
    """The k-th largest of ``values`` (1-D, k >= 1), as ``np.partition`` gives it (a
    numpy scalar of their type)."""
    return kth_largest_rows(values[None], k)[0]


def kth_largest_rows(values: npt.NDArray[Any], k: int) -> npt.NDArray[Any]:
    """The k-th largest of each row of ``values`` (2-D, k >= 1)."""
    rows, n = values.shape
    runs = n // RUN
    if not 1 <= k <= n:
        raise ValueError(f"k must be 1 to {n}, got {k}")
    if runs < k or not rows:
        return np.partition(values, n - k, axis=1)[:, n - k]
    maxima = values[:, : runs * RUN].reshape(rows, runs, RUN).max(axis=2)
    bound = np.partition(maxima, runs - k, axis=1)[:, runs - k]
    out = np.empty(rows, values.dtype)
    for i in range(rows):
        top = values[i][values[i] >= bound[i]]
        out[i] = np.partition(top, len(top) - k)[len(top) - k]
    return out
