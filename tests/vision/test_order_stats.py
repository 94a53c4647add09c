"""The k-th largest value without a full selection (`vision.order_stats`)."""

from __future__ import annotations

import numpy as np
import pytest

from hemoscope.vision.order_stats import RUN, kth_largest, kth_largest_rows


def _full(values: np.ndarray, k: int) -> np.ndarray:
    n = values.shape[-1]
    return np.partition(values, n - k, axis=-1)[..., n - k]


@pytest.mark.parametrize("n", [1, 5, RUN * 3, RUN * 40 + 7, 16384])
def test_the_kth_largest_is_what_a_full_selection_gives(n: int) -> None:
    rng = np.random.default_rng(n)
    cases = [
        rng.normal(size=n).astype(np.float32),
        rng.integers(0, 4, n).astype(np.float32),  # many ties
        np.sort(rng.normal(size=n)).astype(np.float32),  # the largest all in the last run
        np.full(n, 3.5, np.float32),
    ]
    for values in cases:
        for k in sorted({1, min(n, 2), min(n, 10), min(n, 82), max(1, n // 3), n}):
            assert kth_largest(values, k) == _full(values, k), (n, k)
    with pytest.raises(ValueError, match="k must be"):
        kth_largest(cases[0], n + 1)


def test_the_kth_largest_of_each_row() -> None:
    rng = np.random.default_rng(3)
    sims = rng.normal(size=(16, 12352)).astype(np.float32)
    sims[3] = 0.25  # a row of ties
    sims[5, -20:] = 9.0  # its largest values together at the end
    for k in (1, 10, 400):
        assert np.array_equal(kth_largest_rows(sims, k), _full(sims, k))
    short = rng.normal(size=(4, 20)).astype(np.float32)  # fewer runs than k: selected in full
    assert np.array_equal(kth_largest_rows(short, 10), _full(short, 10))
    assert kth_largest_rows(np.zeros((0, 50), np.float32), 3).shape == (0,)
    with pytest.raises(ValueError, match="k must be"):
        kth_largest_rows(short, 0)
