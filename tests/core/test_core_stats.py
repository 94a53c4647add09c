import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hemoscope.core import (
    Interval,
    clopper_pearson,
    inverse_regularized_beta,
    regularized_beta,
    round_half_up,
)


def pct(iv: Interval | None, digits: int) -> tuple[float, float]:
    assert iv is not None
    return round(100 * iv.low, digits), round(100 * iv.high, digits)


def test_rumke_examples_from_design() -> None:
    assert pct(clopper_pearson(20, 100), 1) == (12.7, 29.2)
    assert pct(clopper_pearson(40, 200), 1) == (14.7, 26.2)


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [
        # Exact 95 % limits in %, reference values from scipy.stats.beta.ppf (not a dependency).
        (0, 100, 0.0, 3.62),
        (5, 50, 3.33, 21.81),
        (2, 100, 0.24, 7.04),
        (10, 100, 4.90, 17.62),
        (60, 100, 49.72, 69.67),
        (500, 1000, 46.85, 53.15),
        (100, 100, 96.38, 100.0),
        (1, 3, 0.84, 90.57),
    ],
)
def test_known_values(x: int, n: int, low: float, high: float) -> None:
    assert pct(clopper_pearson(x, n), 2) == (low, high)


def test_edges() -> None:
    assert clopper_pearson(0, 0) is None
    zero = clopper_pearson(0, 10)
    full = clopper_pearson(10, 10)
    assert zero is not None and zero.low == 0.0
    assert full is not None and full.high == 1.0
    # 0 of n: upper = 1 - (alpha/2)^(1/n) exactly
    assert zero.high == pytest.approx(1 - 0.025 ** (1 / 10), abs=1e-12)
    one = clopper_pearson(1, 1)
    assert one is not None and one.low == pytest.approx(0.025, abs=1e-12)


def test_confidence_widens_interval() -> None:
    narrow, wide = clopper_pearson(20, 100, 0.90), clopper_pearson(20, 100, 0.99)
    assert narrow is not None and wide is not None
    assert wide.low < narrow.low and wide.high > narrow.high


@pytest.mark.parametrize(
    ("x", "n", "conf"),
    [(-1, 10, 0.95), (11, 10, 0.95), (1, -1, 0.95), (1, 10, 0.0), (1, 10, 1.0), (1.0, 10, 0.95)],
)
def test_invalid_arguments(x: int, n: int, conf: float) -> None:
    with pytest.raises(ValueError):
        clopper_pearson(x, n, conf)


def test_regularized_beta_closed_forms() -> None:
    # I_x(1, b) = 1 - (1 - x)^b ; I_x(a, 1) = x^a ; I_x(a, a) at 0.5 = 0.5
    assert regularized_beta(0.3, 1, 4) == pytest.approx(1 - 0.7**4, abs=1e-14)
    assert regularized_beta(0.3, 5, 1) == pytest.approx(0.3**5, abs=1e-14)
    assert regularized_beta(0.5, 7.5, 7.5) == pytest.approx(0.5, abs=1e-14)
    assert regularized_beta(0.0, 2, 3) == 0.0 and regularized_beta(1.0, 2, 3) == 1.0
    assert inverse_regularized_beta(0.5, 7.5, 7.5) == pytest.approx(0.5, abs=1e-13)
    with pytest.raises(ValueError):
        regularized_beta(0.5, 0, 1)
    with pytest.raises(ValueError):
        regularized_beta(1.5, 1, 1)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 2000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_interval_contains_estimate_and_lies_in_unit(xn: tuple[int, int]) -> None:
    x, n = xn
    iv = clopper_pearson(x, n)
    assert iv is not None
    assert 0.0 <= iv.low <= x / n <= iv.high <= 1.0
    assert iv.contains(x / n)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.01, 0.99), st.floats(0.5, 300), st.floats(0.5, 300))
def test_inverse_round_trip(p: float, a: float, b: float) -> None:
    x = inverse_regularized_beta(p, a, b)
    assert regularized_beta(x, a, b) == pytest.approx(p, abs=1e-9)


def test_round_half_up() -> None:
    assert round_half_up(12.25) == 12.3 and round(12.25, 1) == 12.2
    assert round_half_up(0.05) == 0.1 and round_half_up(33.333333) == 33.3
    assert round_half_up(2.675, 2) == 2.68 and round_half_up(-1.25) == -1.3
