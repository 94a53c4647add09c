"""Wide fields at a known red-cell size: tiles at the trained scale, each cell found once."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from hemoscope.core import CellKind
from hemoscope.vision.classifier import Classification
from hemoscope.vision.detector import Detections
from hemoscope.vision.image_input import Channels, to_rgb
from hemoscope.vision.pipeline import Pipeline
from hemoscope.vision.wide_field import MAX_TILES, detect_at_cell_size, tile_scale


class DiscDetector:
    """Finds dark discs, but only those the letterbox makes 30-90 input pixels wide,
    like a network trained at one scale. Class 1 (rbc) for every disc."""

    names = ("wbc", "rbc", "platelet")
    long_side = 320
    nms_iou = 0.5

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def detect(self, image: npt.NDArray[np.generic], channels: Channels = "bgr") -> Detections:
        rgb = to_rgb(image, channels)
        h, w = rgb.shape[:2]
        self.calls.append((w, h))
        scale = self.long_side / max(h, w)
        mask = (rgb[..., 0] < 128).astype(np.uint8)
        _, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        boxes = [
            [x, y, x + bw, y + bh]
            for x, y, bw, bh, _ in stats[1:]
            if 30 <= max(bw, bh) * scale <= 90
        ]
        n = len(boxes)
        return Detections(
            np.array(boxes, np.float32).reshape(-1, 4),
            np.ones(n, np.int64),
            np.full(n, 0.9, np.float32),
            self.names,
        )


class NoClassifier:
    classes = ("neutrophil",)
    review_threshold = 0.5
    crop_scale = 2.0

    def crops_for_boxes(
        self, image_rgb: npt.NDArray[np.uint8], boxes: npt.ArrayLike, rbc: float | None = None
    ) -> npt.NDArray[np.uint8]:
        raise AssertionError("no white cells in these fields")

    def classify_crops(self, crops: object) -> Classification:
        raise AssertionError("no white cells in these fields")


def wide_field(w: int = 1920, h: int = 1440, d: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """White frame with dark discs of diameter ``d`` on a jittered grid; their boxes."""
    rng = np.random.default_rng(0)
    img = np.full((h, w, 3), 255, np.uint8)
    boxes = []
    for cy in range(d, h - d, int(d * 1.8)):
        for cx in range(d, w - d, int(d * 1.8)):
            x, y = cx + int(rng.integers(-8, 9)), cy + int(rng.integers(-8, 9))
            cv2.circle(img, (x, y), d // 2, (40, 40, 40), -1)
            boxes.append([x - d // 2, y - d // 2, x + d // 2 + 1, y + d // 2 + 1])
    return img, np.array(boxes, np.float32)


def match(found: np.ndarray, truth: np.ndarray) -> int:
    """Truth boxes with a found box within 1.5 px on every side."""
    return sum(bool((np.abs(found - t).max(axis=1) <= 1.5).any()) for t in truth)


def test_one_pass_misses_small_cells_tiles_at_their_size_find_each_once() -> None:
    img, truth = wide_field()
    det = DiscDetector()
    assert len(det.detect(img)) == 0  # 40 px cells are 7 input px in one pass
    found = detect_at_cell_size(det, img, 40)
    assert len(found) == len(truth) == match(found.boxes, truth)
    assert found.tiles == len(det.calls) - 1 > 1
    assert all(max(w, h) <= 256 for w, h in det.calls[1:])  # 320 / (50 / 40)


def test_one_pass_when_the_frame_is_already_at_scale() -> None:
    img, truth = wide_field(640, 480, 100)
    det = DiscDetector()
    assert tile_scale(640, 480, 320, 100) is None
    found = detect_at_cell_size(det, img, 100)
    assert det.calls == [(640, 480)] and len(found) == len(truth)
    assert tile_scale(640, 480, 320, 50) == pytest.approx(1.0)  # 25 px cells: tiles
    with pytest.raises(ValueError):
        tile_scale(640, 480, 320, 0)


def test_tiles_are_capped(caplog: pytest.LogCaptureFixture) -> None:
    img = np.full((1440, 1920, 3), 255, np.uint8)
    det = DiscDetector()
    with caplog.at_level(logging.WARNING):
        detect_at_cell_size(det, img, 4)
    assert len(det.calls) <= MAX_TILES and "tiles" in caplog.text


def test_pipeline_with_a_red_cell_diameter() -> None:
    img, truth = wide_field()
    p = Pipeline(DiscDetector(), NoClassifier())
    assert p.analyze(img).n_rbc == 0
    p.rbc_diameter = 40
    fld = p.analyze(img)
    assert fld.count(CellKind.RBC) == len(truth) and (fld.width, fld.height) == (1920, 1440)
    assert Pipeline(DiscDetector(), NoClassifier(), rbc_diameter=40).analyze(img).n_rbc == len(
        truth
    )
    with pytest.raises(ValueError, match="> 0"):
        p.rbc_diameter = -3

    class OnePassOnly:  # a detector that cannot say its input size
        names = DiscDetector.names

        def detect(self, image: npt.NDArray[np.generic], channels: Channels = "bgr") -> Detections:
            raise AssertionError

    with pytest.raises(ValueError, match="tiles"):
        Pipeline(OnePassOnly(), NoClassifier(), rbc_diameter=40)
