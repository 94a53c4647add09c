"""A profile's head correction measures each descriptor dimension in its own unit (the
card's descriptor spread) and starts from the shipped logits at `BASE_WEIGHT`."""

from __future__ import annotations

import numpy as np
import pytest

from hemoscope.vision.descriptor_spread import SPREAD_FLOOR, descriptor_spread
from hemoscope.vision.lab_adapt import BASE_WEIGHT, FITS, adapt, fit_correction

CLASSES = ("a", "b", "c")


def _card(values: list[float] | None) -> dict:
    card = {"name": "clf", "version": "1", "sha256": "c" * 64, "classes": list(CLASSES)}
    if values is not None:
        card["descriptor_spread"] = {"values": values, "cells": 10}
    return card


def test_the_spread_is_read_from_the_card_floored_and_checked_against_the_width() -> None:
    got = descriptor_spread(_card([2.0, 0.0, 4.0]), 3)
    assert got is not None
    np.testing.assert_allclose(got, [2.0, SPREAD_FLOOR * 2.0, 4.0])
    assert descriptor_spread(_card([2.0, 1.0, 4.0]), 4) is None  # another descriptor
    assert descriptor_spread(_card(None), 3) is None  # an older card
    assert descriptor_spread(None, 3) is None
    assert descriptor_spread(_card([0.0, 0.0, 0.0]), 3) is None
    assert descriptor_spread(_card([1.0, float("nan"), 1.0]), 3) is None


def _cells(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = rng.integers(0, 3, n)
    e = rng.normal(0, 1, (n, 6)) * np.array([50.0, 50.0, 50.0, 0.05, 0.05, 0.05])
    e[np.arange(n), 3 + y] += 0.1  # the class lies in the narrow dimensions
    return e, np.zeros((n, 3)), y


def test_fitting_with_a_spread_is_fitting_on_descriptors_divided_by_it() -> None:
    rng = np.random.default_rng(0)
    e, base, y = _cells(rng, 90)
    spread = np.array([50.0, 50.0, 50.0, 0.05, 0.05, 0.05])
    dw, db = fit_correction(e, base, y, 0.01, spread=spread)
    dw_u, db_u = fit_correction(e / spread, base, y, 0.01)
    np.testing.assert_allclose(e @ dw.T + db, (e / spread) @ dw_u.T + db_u, atol=1e-8)


def test_the_spread_lets_narrow_but_telling_dimensions_correct_the_head() -> None:
    rng = np.random.default_rng(1)
    e, base, y = _cells(rng, 120)
    e_test, base_test, y_test = _cells(rng, 600)
    spread = [50.0, 50.0, 50.0, 0.05, 0.05, 0.05]
    models = {"with": _card(spread), "without": _card(None)}
    right = {}
    for key, card in models.items():
        res = adapt(
            e, base, y, classes=CLASSES, base_temperature=1.0,
            models={"classifier": card}, name=key,
        )  # fmt: skip
        p = res.profile
        right[key] = float((p.probabilities(base_test, e_test).argmax(1) == y_test).mean())
        assert p.fit["descriptor_spread"] is (key == "with")
        assert p.base_temperature == pytest.approx(1.0 / BASE_WEIGHT)
    assert right["with"] > 0.8
    assert right["with"] > right["without"] + 0.2


def test_a_refused_fit_is_tried_again_with_the_shipped_logits_at_full_weight() -> None:
    # The shipped model is right on every cell by a wide margin; the descriptors are
    # noise. Starting from a sliver of the shipped logits, the correction fits the noise
    # and is refused; at full weight it cannot overturn the shipped calls.
    rng = np.random.default_rng(5)
    y = np.tile(np.arange(3), 20)
    base = np.full((60, 3), -3.0)
    base[np.arange(60), y] = 3.0
    e = rng.normal(0, 1, (60, 8))
    card = _card([1.0] * 8)
    kwargs = dict(classes=CLASSES, base_temperature=1.0, models={"classifier": card}, name="x")
    alone = adapt(e, base, y, fits=((0.01, True),), **kwargs)
    assert "worse than the shipped model" in alone.refusal
    res = adapt(e, base, y, fits=((0.01, True), (1.0, False)), **kwargs)
    assert not res.refusal
    assert res.profile.fit["base_weight"] == 1.0
    assert "fitted a second time" in res.method and "fitted a second" not in alone.method
    assert res.profile.validation["method"] == res.method
    assert res.profile.fit["descriptor_spread"] is False
    assert res.after.accuracy >= res.before.accuracy
    assert FITS[0] == (BASE_WEIGHT, True) and FITS[-1] == (1.0, False)
