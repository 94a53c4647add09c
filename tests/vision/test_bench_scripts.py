"""`benchmarks/flag_bound.py` (the fewest cells a confidence threshold must flag),
`benchmarks/adapt_station.py` (profiles classified as the station classifies) and
`benchmarks/unfamiliar_reference.py` (what other laboratories' cells in the unfamiliar
reference would do): their parts that need no data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from benchmark_script import load_benchmark


def _bench() -> Any:
    return load_benchmark("flag_bound")


def test_the_least_confident_are_flagged_until_the_rest_reach_the_target() -> None:
    bench = _bench()
    conf = np.array([0.99, 0.98, 0.97, 0.96, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    right = np.array([1, 1, 1, 1, 1, 0, 1, 0, 0, 0], bool)
    # Keeping the 5 most confident leaves 5 of 5 right; a sixth (wrong) would be 5 of 6.
    assert bench.least_flagged(conf, right, 0.95) == pytest.approx(0.5)
    # At 80 %, 7 kept hold 6 right (86 %); 8 would hold 6 (75 %).
    assert bench.least_flagged(conf, right, 0.8) == pytest.approx(0.3)
    assert bench.least_flagged(conf, np.ones(10, bool), 0.95) == 0.0


def test_forced_flags_count_and_a_confident_error_can_make_the_target_unreachable() -> None:
    bench = _bench()
    conf = np.array([0.99, 0.9, 0.8, 0.7])
    right = np.array([0, 1, 1, 1], bool)  # the most confident call is wrong
    assert bench.least_flagged(conf, right, 0.95) == 1.0
    # Flagged first as unfamiliar, the confident error leaves the rest right.
    forced = np.array([1, 0, 0, 0], bool)
    assert bench.least_flagged(conf, right, 0.95, forced) == pytest.approx(0.25)
    # A forced flag on a right cell is still a flag.
    forced = np.array([1, 1, 0, 0], bool)
    assert bench.least_flagged(conf, right, 0.95, forced) == pytest.approx(0.5)


def test_without_other_laboratories_it_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _bench().main(["--data", str(tmp_path)]) == 1
    assert "no other-labs sets" in capsys.readouterr().err


def test_the_unfamiliar_reference_benchmark_says_when_pbc_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = load_benchmark("unfamiliar_reference")
    assert bench.main(["--domains", str(tmp_path), "--data", str(tmp_path)]) == 1
    assert "pbc" in capsys.readouterr().err


def test_the_station_adapt_benchmark_says_when_other_laboratories_are_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert load_benchmark("adapt_station").main(["--data", str(tmp_path)]) == 1
    assert "no other-labs sets" in capsys.readouterr().err
