"""Heat-map decoding and non-maximum suppression."""

from __future__ import annotations

import numpy as np
import pytest

from hemoscope.vision.detector_decode import batched_nms, box_iou, decode, nms, postprocess


def test_decode_peak_to_box() -> None:
    heat = np.zeros((2, 8, 8), np.float32)
    heat[1, 3, 5] = 0.9
    size = np.zeros((2, 8, 8), np.float32)
    size[:, 3, 5] = (12.0, 8.0)
    offset = np.zeros((2, 8, 8), np.float32)
    offset[:, 3, 5] = (0.5, 0.25)
    boxes, classes, scores = decode(heat, size, offset, stride=4, threshold=0.5)
    cx, cy = (5 + 0.5) * 4, (3 + 0.25) * 4
    np.testing.assert_allclose(boxes, [[cx - 6, cy - 4, cx + 6, cy + 4]])
    assert classes.tolist() == [1]
    assert scores.tolist() == pytest.approx([0.9])


def test_decode_threshold_excludes_weak_peaks() -> None:
    heat = np.zeros((1, 4, 4), np.float32)
    heat[0, 1, 1] = 0.2
    boxes, _, _ = decode(
        heat, np.ones((2, 4, 4), np.float32), np.zeros((2, 4, 4), np.float32), 4, 0.3
    )
    assert boxes.shape == (0, 4)


def test_box_iou_values() -> None:
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]], np.float32)
    np.testing.assert_allclose(box_iou(a, b), [[50 / 150, 0.0, 1.0]], rtol=1e-6)


def test_nms_keeps_best_of_overlapping_and_separate_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.8, 0.9, 0.7], np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]


def test_batched_nms_is_per_class() -> None:
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], np.float32)
    keep = batched_nms(boxes, np.array([0, 1]), np.array([0.5, 0.6], np.float32), 0.5)
    assert keep.tolist() == [1, 0]


def test_postprocess_maps_back_and_clips() -> None:
    heat = np.zeros((1, 4, 4), np.float32)
    heat[0, 0, 0] = 0.9
    size = np.full((2, 4, 4), 10.0, np.float32)
    boxes, _, _ = postprocess(
        heat, size, np.zeros((2, 4, 4), np.float32), 4, 2.0, 0.5, 0.5, clip_to=(100, 100)
    )
    np.testing.assert_allclose(boxes, [[0, 0, 10, 10]])
