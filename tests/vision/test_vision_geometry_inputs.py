"""Letterbox, crop rule and input normalisation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hemoscope.vision.crops import (
    CROP_SCALE,
    MIN_BOX_FACTOR,
    RBC_CROP_FACTOR,
    crop_geometry,
    cut_crop,
    rbc_diameter,
    whole_image_geometry,
)
from hemoscope.vision.image_input import to_rgb
from hemoscope.vision.letterbox import PAD_VALUE, letterbox


def test_letterbox_keeps_aspect_and_pads_to_multiple_of_32() -> None:
    img = np.zeros((480, 640, 3), np.uint8)
    out, lb = letterbox(img, 320)
    assert out.shape == (256, 320, 3)
    assert lb.scale == pytest.approx(0.5)
    assert (lb.content_width, lb.content_height) == (320, 240)
    assert (out[240:] == PAD_VALUE).all()
    boxes = np.array([[10, 20, 30, 40]], np.float32)
    np.testing.assert_allclose(lb.to_original(boxes), [[20, 40, 60, 80]])


def test_letterbox_enlarges_tiny_images() -> None:
    out, lb = letterbox(np.zeros((8, 8, 3), np.uint8), 320)
    assert out.shape == (320, 320, 3) and lb.scale == pytest.approx(40.0)


def test_letterbox_rejects_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        letterbox(np.zeros((0, 5, 3), np.uint8), 320)


def test_crop_rule_is_scale_times_longer_side() -> None:
    cx, cy, side = crop_geometry(10, 20, 50, 40)
    assert (cx, cy, side) == (30, 30, 40 * CROP_SCALE)
    assert whole_image_geometry(100, 60) == (30, 50, 100)


def test_with_red_cells_the_crop_follows_their_scale_but_keeps_big_cells_whole() -> None:
    small = crop_geometry(10, 20, 40, 50, rbc=20.0)  # a 30 px lymphocyte
    large = crop_geometry(10, 20, 60, 70, rbc=20.0)  # a 50 px monocyte
    assert small[2] == large[2] == pytest.approx(RBC_CROP_FACTOR * 20)  # same physical size
    blast = crop_geometry(0, 0, 80, 80, rbc=20.0)
    assert blast[2] == pytest.approx(MIN_BOX_FACTOR * 80)
    assert blast[2] > RBC_CROP_FACTOR * 20
    inside = [[10, 10, 30, 30], [40, 10, 62, 32], [70, 10, 94, 34]]
    assert rbc_diameter(inside, 200, 100) == pytest.approx(22.0)
    assert rbc_diameter([*inside[:2], [0, 50, 20, 70], [180, 50, 200, 70]], 200, 100) is None
    assert rbc_diameter(np.zeros((0, 4)), 200, 100) is None


def test_cut_crop_centres_the_box_and_repeats_edges() -> None:
    img = np.zeros((100, 100, 3), np.uint8)
    img[40:60, 40:60] = 200
    crop = cut_crop(img, 50, 50, 40, 40)
    assert crop.shape == (40, 40, 3)
    assert (crop[10:30, 10:30] == 200).all() and (crop[:8] == 0).all()
    edge = cut_crop(np.full((10, 10, 3), 77, np.uint8), 0, 0, 40, 16)
    assert (edge == 77).all()


def test_cut_crop_antialiases_strong_reductions() -> None:
    stripes = np.zeros((400, 400, 3), np.uint8)
    stripes[:, ::2] = 255
    crop = cut_crop(stripes, 200, 200, 400, 32)
    assert abs(float(crop.mean()) - 127.5) < 20 and crop.std() < 30


@pytest.mark.parametrize(
    ("image", "channels", "first"),
    [
        (np.full((4, 5), 9, np.uint8), "bgr", (9, 9, 9)),
        (np.full((4, 5, 1), 9, np.uint8), "bgr", (9, 9, 9)),
        (np.tile(np.array([1, 2, 3], np.uint8), (4, 5, 1)), "bgr", (3, 2, 1)),
        (np.tile(np.array([1, 2, 3], np.uint8), (4, 5, 1)), "rgb", (1, 2, 3)),
        (np.tile(np.array([1, 2, 3, 255], np.uint8), (4, 5, 1)), "bgr", (3, 2, 1)),
    ],
)
def test_to_rgb_accepts_gray_colour_and_alpha(
    image: np.ndarray, channels: str, first: tuple[int, ...]
) -> None:
    out = to_rgb(image, channels)  # type: ignore[arg-type]
    assert out.shape == (4, 5, 3) and out.dtype == np.uint8 and out.flags.c_contiguous
    assert tuple(out[0, 0]) == first


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((4, 4, 3), np.uint16), "8-bit"),
        (np.zeros((4, 4, 3), np.float32), "8-bit"),
        (np.zeros((0, 0, 3), np.uint8), "empty"),
        (np.zeros((4, 4, 2), np.uint8), "shape"),
        (np.zeros((2, 4, 4, 3), np.uint8), "shape"),
    ],
)
def test_to_rgb_rejects_bad_input_clearly(image: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        to_rgb(image)


def test_a_crop_depends_only_on_the_pixels_around_its_cell() -> None:
    """Cutting from a large frame or from a view around the cell gives the same crop."""
    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (2000, 2400, 3), dtype=np.uint8), (5, 5), 2)
    for cx, cy, side in ((35, 40, 120), (1100, 800, 800), (1850, 1400, 600), (200.5, 900.25, 61)):
        x0, y0 = max(0, int(cx - side)), max(0, int(cy - side))
        view = frame[y0 : int(cy + side) + 1, x0 : int(cx + side) + 1]
        a = cut_crop(frame, cx, cy, side, 64).astype(np.int16)
        b = cut_crop(view, cx - x0, cy - y0, side, 64).astype(np.int16)
        assert np.abs(a - b).max() <= 1 and (a == b).mean() > 0.9
