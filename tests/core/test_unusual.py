"""A case's unfamiliar white cells against its microscope's usual share."""

from __future__ import annotations

import math

import pytest

from hemoscope.core.unusual import (
    MIN_CELLS,
    MIN_UNFAMILIAR,
    P_VALUE,
    binomial_tail,
    unusual,
)


def brute_tail(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


CASES = [(0, 10, 0.3), (3, 10, 0.3), (10, 10, 0.3), (11, 10, 0.3), (5, 40, 0.01), (30, 200, 0.1)]


@pytest.mark.parametrize(("k", "n", "p"), CASES)
def test_binomial_tail_matches_the_sum_of_terms(k: int, n: int, p: float) -> None:
    assert binomial_tail(k, n, p) == pytest.approx(brute_tail(k, n, p), rel=1e-9, abs=1e-300)


def test_edge_probabilities() -> None:
    assert binomial_tail(1, 10, 0.0) == 0.0 and binomial_tail(1, 10, 1.0) == 1.0
    assert binomial_tail(0, 10, 0.0) == 1.0


def test_a_case_with_far_more_unfamiliar_cells_than_usual_is_unusual() -> None:
    # The training laboratory's microscope: about 1 % usual.
    assert unusual(8, 40, 0.01)
    assert not unusual(2, 40, 0.01)  # too few unfamiliar cells to say anything
    assert not unusual(MIN_UNFAMILIAR, MIN_CELLS - 1, 0.01)  # too few cells
    assert unusual(MIN_UNFAMILIAR, MIN_CELLS, 0.01)
    # A microscope whose ordinary cells are often unfamiliar: the same count is usual.
    assert not unusual(8, 40, 0.2)
    assert unusual(25, 40, 0.2)
    # Significant but not twice the usual share (a large case): not called unusual.
    assert binomial_tail(580, 2000, 0.25) < P_VALUE and not unusual(580, 2000, 0.25)
    # A calibration that saw no unfamiliar cell is read as a small share, not none.
    assert not unusual(MIN_UNFAMILIAR, 1000, 0.0)
