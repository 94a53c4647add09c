"""Detection metrics against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hemoscope.vision.detection_metrics import (
    ImageResult,
    average_precision,
    best_count_threshold,
    evaluate,
)


def img(
    gt: list[list[float]],
    gt_cls: list[int],
    pred: list[list[float]],
    cls: list[int],
    scores: list[float],
) -> ImageResult:
    return ImageResult(
        np.array(gt, np.float32).reshape(-1, 4),
        np.array(gt_cls, np.int64),
        np.array(pred, np.float32).reshape(-1, 4),
        np.array(cls, np.int64),
        np.array(scores, np.float32),
    )


A = [0, 0, 10, 10]
B = [20, 20, 30, 30]
FAR = [50, 50, 60, 60]


def test_perfect_predictions_give_ap_one() -> None:
    r = img([A, B], [0, 0], [A, B], [0, 0], [0.9, 0.8])
    assert average_precision([r], 0, 0.5) == pytest.approx(1.0)


def test_false_positive_between_true_positives() -> None:
    # Ranked TP, FP, TP over 2 ground truths: precision 1 up to recall 0.5, then 2/3.
    r = img([A, B], [0, 0], [A, FAR, B], [0, 0, 0], [0.9, 0.8, 0.7])
    expected = (51 * 1.0 + 50 * (2 / 3)) / 101
    assert average_precision([r], 0, 0.5) == pytest.approx(expected)


def test_missed_object_caps_recall() -> None:
    r = img([A, B], [0, 0], [A], [0], [0.9])
    assert average_precision([r], 0, 0.5) == pytest.approx(51 / 101)


def test_duplicate_detection_is_a_false_positive() -> None:
    # A second box on A cannot match A again: ranked TP, FP (duplicate), TP.
    r = img([A, B], [0, 0], [A, A, B], [0, 0, 0], [0.9, 0.8, 0.7])
    assert average_precision([r], 0, 0.5) == pytest.approx((51 + 50 * (2 / 3)) / 101)


def test_iou_threshold_decides_a_match() -> None:
    shifted = [0, 0, 10, 16]  # IoU with A = 100 / 160 = 0.625
    r = img([A], [0], [shifted], [0], [0.9])
    assert average_precision([r], 0, 0.5) == pytest.approx(1.0)
    assert average_precision([r], 0, 0.6) == pytest.approx(1.0)
    assert average_precision([r], 0, 0.65) == pytest.approx(0.0)


def test_class_without_ground_truth_is_nan_and_left_out_of_the_mean() -> None:
    r = img([A], [0], [A, B], [0, 1], [0.9, 0.9])
    assert math.isnan(average_precision([r], 1, 0.5))
    rep = evaluate([r], ("wbc", "rbc"), count_threshold=0.5)
    assert rep.map50 == pytest.approx(1.0)


def test_ap_pools_detections_across_images() -> None:
    r1 = img([A], [0], [A], [0], [0.9])
    r2 = img([A], [0], [FAR], [0], [0.95])
    # Ranked FP (0.95), TP (0.9): precision at recall 0.5 is 1/2; recall 1 never reached.
    assert average_precision([r1, r2], 0, 0.5) == pytest.approx(51 * 0.5 / 101)


def test_count_errors_and_exact_fraction() -> None:
    r1 = img([A, B], [0, 0], [A, B], [0, 0], [0.9, 0.2])  # one below threshold: error -1
    r2 = img([A], [0], [A], [0], [0.9])  # exact
    rep = evaluate([r1, r2], ("wbc",), count_threshold=0.5)
    assert rep.count_mae["wbc"] == pytest.approx(0.5)
    assert rep.exact_count_fraction["wbc"] == pytest.approx(0.5)


def test_map50_95_averages_ten_thresholds() -> None:
    shifted = [0, 0, 10, 13]  # IoU = 100 / 130 = 0.769: matches at 0.50..0.75 (6 of 10)
    r = img([A], [0], [shifted], [0], [0.9])
    rep = evaluate([r], ("wbc",), count_threshold=0.5)
    assert rep.ap50_95["wbc"] == pytest.approx(0.6)


def test_per_class_count_thresholds() -> None:
    r = img([A, B], [0, 1], [A, B], [0, 1], [0.4, 0.4])
    rep = evaluate([r], ("wbc", "rbc"), count_threshold=[0.3, 0.5])
    assert rep.exact_count_fraction == {"wbc": 1.0, "rbc": 0.0}


def test_best_count_threshold_minimises_the_count_error() -> None:
    # Class 0: one true cell; predictions at 0.9 (true) and 0.35 (a false one).
    r = img([A], [0], [A, FAR], [0, 0], [0.9, 0.35])
    assert best_count_threshold([r], 0) == pytest.approx(0.4)
    # Without false positives the lowest threshold of the plateau wins.
    r2 = img([A], [0], [A], [0], [0.9])
    assert best_count_threshold([r2], 0) == pytest.approx(0.2)
