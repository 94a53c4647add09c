import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hemoscope.core import Box, boxes_to_array


def test_measures() -> None:
    b = Box(10, 20, 40, 60)
    assert (b.width, b.height, b.area) == (30.0, 40.0, 1200.0)
    assert b.centre == (25.0, 40.0)
    assert b.as_tuple() == (10.0, 20.0, 40.0, 60.0)
    assert isinstance(Box(1, 2, 3, 4).x1, float)
    assert b.contains(10, 60) and not b.contains(9.9, 30)


def test_constructors() -> None:
    assert Box.from_xywh(5, 5, 10, 20) == Box(5, 5, 15, 25)
    assert Box.from_centre(10, 10, 4, 6) == Box(8, 7, 12, 13)
    assert Box.from_array(np.array([1.0, 2.0, 3.0, 4.0])) == Box(1, 2, 3, 4)
    with pytest.raises(ValueError):
        Box.from_array([1, 2, 3])


@pytest.mark.parametrize(
    "coords", [(5, 0, 4, 1), (0, 5, 1, 4), (0, 0, math.inf, 1), (math.nan, 0, 1, 1)]
)
def test_invalid(coords: tuple[float, float, float, float]) -> None:
    with pytest.raises(ValueError):
        Box(*coords)


def test_not_a_number() -> None:
    with pytest.raises(TypeError):
        Box("1", 0, 2, 2)  # type: ignore[arg-type]


def test_iou_hand_checked() -> None:
    a = Box(0, 0, 10, 10)
    b = Box(5, 0, 15, 10)  # overlap 50, union 150
    assert a.iou(b) == pytest.approx(1 / 3)
    assert a.iou(a) == 1.0
    assert a.iou(Box(20, 20, 30, 30)) == 0.0
    assert a.intersection(Box(20, 20, 30, 30)) is None
    assert a.intersection(b) == Box(5, 0, 10, 10)
    assert Box(1, 1, 1, 1).iou(Box(1, 1, 1, 1)) == 0.0  # no area, no division by zero


def test_clip_scale_translate_expand() -> None:
    assert Box(-5, -5, 700, 50).clip(640, 480) == Box(0, 0, 640, 50)
    assert Box(700, 500, 800, 600).clip(640, 480) == Box(640, 480, 640, 480)
    assert Box(10, 20, 30, 40).scale(2) == Box(20, 40, 60, 80)
    assert Box(10, 20, 30, 40).scale(0.5, 2) == Box(5, 40, 15, 80)
    assert Box(1, 1, 2, 2).translate(3, -1) == Box(4, 0, 5, 1)
    assert Box(10, 10, 20, 20).expand(2) == Box(8, 8, 22, 22)
    assert Box(10, 10, 20, 20).expand(-10) == Box(15, 15, 15, 15)
    with pytest.raises(ValueError):
        Box(0, 0, 1, 1).scale(-1)


def test_boxes_to_array() -> None:
    arr = boxes_to_array([Box(0, 1, 2, 3), Box(4, 5, 6, 7)])
    assert arr.shape == (2, 4) and arr.dtype == np.float64
    assert arr[1].tolist() == [4, 5, 6, 7]
    assert boxes_to_array([]).shape == (0, 4)


coord = st.floats(-1000, 1000, allow_nan=False)
size = st.floats(0, 500, allow_nan=False)
boxes = st.builds(Box.from_xywh, coord, coord, size, size)


@settings(max_examples=100)
@given(boxes, boxes)
def test_iou_properties(a: Box, b: Box) -> None:
    iou = a.iou(b)
    assert 0.0 <= iou <= 1.0
    assert iou == pytest.approx(b.iou(a))


@settings(max_examples=100)
@given(boxes, st.integers(1, 2000), st.integers(1, 2000))
def test_clip_stays_inside(b: Box, w: int, h: int) -> None:
    c = b.clip(w, h)
    assert 0 <= c.x1 <= c.x2 <= w and 0 <= c.y1 <= c.y2 <= h
