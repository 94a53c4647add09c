"""Framing a one-cell image: the detected white cell nearest the centre, else the whole image."""

from __future__ import annotations

import numpy as np
import pytest

from hemoscope.vision.detector import Detections
from hemoscope.vision.single_cell import (
    MAX_CELL_SHARE,
    Framing,
    frame_single_cell,
    review_reason,
)


class FakeFinder:
    names = ("wbc", "rbc", "platelet")

    def __init__(self, boxes: list[list[float]], classes: list[int]) -> None:
        self.boxes = np.array(boxes, np.float32).reshape(-1, 4)
        self.classes = np.array(classes, np.int64)

    def detect(self, image: np.ndarray, channels: str = "bgr") -> Detections:
        return Detections(
            self.boxes, self.classes, np.ones(len(self.classes), np.float32), self.names
        )


def _image() -> np.ndarray:
    img = np.full((200, 200, 3), 220, np.uint8)
    img[80:120, 80:120] = (0, 0, 255)  # the cell, red in RGB
    img[10:30, 10:30] = (0, 255, 0)  # another white cell, off centre
    return img


def test_the_white_cell_nearest_the_centre_is_framed_by_the_crop_rule() -> None:
    finder = FakeFinder([[10, 10, 30, 30], [80, 80, 120, 120], [60, 60, 70, 70]], [0, 0, 1])
    crop, how = frame_single_cell(_image(), 40, 2.0, finder, channels="rgb")
    assert how == "detected"
    # side 80 around (100, 100): the 40 px cell fills the middle half of the 40 px crop.
    assert (crop[12:28, 12:28] == (0, 0, 255)).all()
    assert (crop[:8, :8] == 220).all()


def test_a_white_cell_detection_smaller_than_a_white_cell_says_so() -> None:
    # Three whole red cells 40 px across give the scale: a 20 px "white cell" is smaller
    # than a white cell (a large platelet or a clump), a 36 px one is not.
    reds = [[5, 150, 45, 190], [50, 150, 90, 190], [150, 150, 190, 190]]
    for side, framing in ((20, "detected, smaller than a white cell"), (36, "detected")):
        lo, hi = 100 - side // 2, 100 + side // 2
        finder = FakeFinder([[lo, lo, hi, hi], *reds], [0, 1, 1, 1])
        _, how = frame_single_cell(_image(), 40, 2.0, finder, channels="rgb")
        assert how == framing


def test_the_crop_stays_inside_the_image_while_the_cell_fits() -> None:
    # The rule asks for 2 x 110 = 220 px; 200 px (the image) keeps the cell at 0.55.
    finder = FakeFinder([[45, 45, 155, 155]], [0])
    crop, how = frame_single_cell(_image(), 50, 2.0, finder, channels="rgb")
    assert how == "detected"
    corner = crop[4:6, 4:6].astype(int)  # the corner cell is still in view (blurred by the shrink)
    assert (corner[..., 1] > 150).all() and (corner[..., 0] < 100).all()


def test_a_tight_image_is_extended_so_the_cell_keeps_its_trained_size() -> None:
    img = np.full((200, 200, 3), 220, np.uint8)
    img[20:180, 20:180] = (0, 0, 255)  # the cell fills 0.8 of the image
    finder = FakeFinder([[20, 20, 180, 180]], [0])
    crop, how = frame_single_cell(img, 50, 2.0, finder, channels="rgb")
    assert how == "detected"
    share = MAX_CELL_SHARE * 50  # the box spans this many crop pixels, centred
    lo, hi = round(25 - share / 2), round(25 + share / 2)
    assert (crop[lo + 2 : hi - 2, lo + 2 : hi - 2] == (0, 0, 255)).all()
    assert (crop[: lo - 2, :] == 220).all() and (crop[hi + 2 :, :] == 220).all()


@pytest.mark.parametrize(
    ("finder", "framing"),
    [
        (FakeFinder([[60, 60, 70, 70]], [1]), "no white cell found"),
        (FakeFinder([], []), "no cell found"),
        (None, "whole image"),
    ],
)
def test_whole_image_when_no_white_cell_is_found(finder: FakeFinder | None, framing: str) -> None:
    crop, how = frame_single_cell(_image(), 50, 2.0, finder, channels="rgb")
    assert how == framing and crop.shape == (50, 50, 3)
    middle = crop[22:28, 22:28].astype(int)
    assert (middle[..., 2] > 200).all() and (middle[..., 0] < 50).all()


@pytest.mark.parametrize(
    ("framing", "label", "unsure", "reason"),
    [
        ("detected", "neutrophil", False, ""),
        ("detected", "neutrophil", True, "low confidence"),
        ("whole image", "lymphocyte", False, ""),  # framed whole by choice
        ("no white cell found", "platelet", False, ""),  # a platelet image
        ("no white cell found", "monocyte", False, "no white cell found"),
        ("no cell found", "platelet", False, "no cell found"),  # a blank picture
        # The detector found a white cell, the classifier names a platelet.
        ("detected", "platelet", False, "detector and classifier disagree"),
        # ... but a detection smaller than a white cell may be a large platelet.
        ("detected, smaller than a white cell", "platelet", False, ""),
        ("detected", "monocyte", "unfamiliar", "unfamiliar"),
        (
            "no white cell found",
            "monocyte",
            "low confidence; unfamiliar",
            "no white cell found; low confidence; unfamiliar",
        ),
    ],
)
def test_results_framed_without_a_white_cell_go_to_review(
    framing: Framing, label: str, unsure: bool | str, reason: str
) -> None:
    assert review_reason(framing, label, unsure) == reason
