"""Classification metrics, temperature scaling and calibration error."""

from __future__ import annotations

import numpy as np
import pytest

from hemoscope.vision.classification_metrics import (
    classification_report,
    confusion_matrix,
    expected_calibration_error,
    fit_temperature,
    nll,
    softmax,
)


def test_confusion_and_report_by_hand() -> None:
    cm = confusion_matrix([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    rep = classification_report(cm)
    assert rep.accuracy == pytest.approx(3 / 5)
    assert rep.precision == pytest.approx((0.5, 2 / 3, 0.0))
    assert rep.recall == pytest.approx((0.5, 1.0, 0.0))
    f1_b = 2 * (2 / 3) / (2 / 3 + 1)
    assert rep.macro_f1 == pytest.approx((0.5 + f1_b + 0.0) / 3)


def test_softmax_temperature_flattens() -> None:
    p1 = softmax([[2.0, 0.0]])
    p2 = softmax([[2.0, 0.0]], temperature=2.0)
    assert p1[0, 0] == pytest.approx(1 / (1 + np.exp(-2)))
    assert p2[0, 0] == pytest.approx(1 / (1 + np.exp(-1)))


def test_fit_temperature_recovers_the_generating_temperature() -> None:
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2.0, (4000, 4))
    labels = np.array([rng.choice(4, p=p) for p in softmax(true_logits)])
    # The model is over-confident by a factor 3: the best temperature is about 3.
    t = fit_temperature(true_logits * 3.0, labels)
    assert t == pytest.approx(3.0, rel=0.1)
    assert nll(true_logits * 3.0, labels, t) < nll(true_logits * 3.0, labels, 1.0)


def test_ece_by_hand() -> None:
    # Two predictions at confidence 0.9 (one right), two at 0.6 (both right).
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    y = np.array([0, 1, 0, 0])
    expected = 0.5 * abs(0.5 - 0.9) + 0.5 * abs(1.0 - 0.6)
    assert expected_calibration_error(probs, y, bins=10) == pytest.approx(expected)


def test_ece_low_when_calibrated() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2.0, (20000, 3))
    probs = softmax(logits)
    y = np.array([rng.choice(3, p=p) for p in probs])
    assert expected_calibration_error(probs, y) < 0.02
