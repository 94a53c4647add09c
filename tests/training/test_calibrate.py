"""The review threshold calibrated on other laboratories, leaving one out."""

from __future__ import annotations

import pytest

from hemoscope.training.calibrate import calibrate, lowest_threshold
from hemoscope.vision.cross_lab import Prediction, SetResult

CLASSES = ("lymphocyte", "neutrophil")


def lab(name: str, cells: list[tuple[bool, float]]) -> SetResult:
    """A laboratory's cells: (right?, confidence), measured without a threshold."""
    r = SetResult(name, "cells", CLASSES)
    r.predictions += [Prediction(0, 0 if ok else 1, False, "", c) for ok, c in cells]
    return r


def test_the_lowest_threshold_that_makes_every_lab_trustworthy() -> None:
    a = lab("a", [(True, 0.95)] * 18 + [(False, 0.62), (False, 0.70)])
    b = lab("b", [(True, 0.90)] * 19 + [(False, 0.55)])
    assert lowest_threshold([a], 0.95) == pytest.approx(0.71)  # both of a's errors flagged
    assert lowest_threshold([b], 0.95) == pytest.approx(0.30)  # 19 of 20 right: 95 % already
    chosen, reached, lolo, rows = calibrate([a, b], 0.95, floor=0.5)
    assert reached and chosen == pytest.approx(0.71)
    assert [r["set"] for r in rows] == ["a", "b"]
    assert all(r["accuracy_unflagged"] >= 0.95 for r in rows)
    # Left out: a gets the threshold chosen on b (the floor 0.5): both its errors pass.
    assert lolo[0]["chosen_on"] == ["b"] and lolo[0]["threshold"] == pytest.approx(0.5)
    assert lolo[0]["accuracy_unflagged"] == pytest.approx(18 / 20)
    assert lolo[1]["threshold"] == pytest.approx(0.71)


def test_an_unreachable_target_keeps_the_cards_threshold() -> None:
    bad = lab("bad", [(True, 0.99), (False, 0.995)] * 10)
    chosen, reached, lolo, rows = calibrate([bad], 0.95, floor=0.9)
    assert not reached and chosen == 0.9
    assert lolo[0]["target_reached_where_chosen"] is False
    assert rows[0]["accuracy_unflagged"] == pytest.approx(0.5)
