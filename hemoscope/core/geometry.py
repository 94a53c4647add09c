"""Axis-aligned boxes in image pixels."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Box", "boxes_to_array"]


@dataclass(frozen=True, slots=True)
class Box:
    """A box ``(x1, y1)``-``(x2, y2)`` in pixels; x to the right, y down.

    Coordinates are finite floats with ``x2 >= x1`` and ``y2 >= y1`` (a zero-size box is
    allowed: it is what clipping a box outside the image gives).
    """

    x1: float
    y1: float
    x2: float
    y2: float

    def __post_init__(self) -> None:
        for name in ("x1", "y1", "x2", "y2"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise TypeError(f"Box.{name} must be a number, got {value!r}")
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"Box.{name} must be finite, got {value}")
            object.__setattr__(self, name, value)
        if self.x2 < self.x1 or self.y2 < self.y1:
            raise ValueError(f"Box needs x2 >= x1 and y2 >= y1, got {self.as_tuple()}")

    # -- constructors ----------------------------------------------------------------
    @classmethod
    def from_xywh(cls, x: float, y: float, width: float, height: float) -> Box:
        """From the top-left corner and a size."""
        return cls(x, y, x + width, y + height)

    @classmethod
    def from_centre(cls, cx: float, cy: float, width: float, height: float) -> Box:
        """From the centre and a size."""
        return cls(cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)

    @classmethod
    def from_array(cls, values: Sequence[float] | npt.NDArray[np.floating]) -> Box:
        """From ``[x1, y1, x2, y2]``."""
        if len(values) != 4:
            raise ValueError(f"a box needs 4 values, got {len(values)}")
        x1, y1, x2, y2 = (float(v) for v in values)
        return cls(x1, y1, x2, y2)

    # -- measures --------------------------------------------------------------------
    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2)

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    def contains(self, x: float, y: float) -> bool:
        """Whether the point lies inside or on the edge."""
        return self.x1 <= x <= self.x2 and self.y1 <= y <= self.y2

    def intersection(self, other: Box) -> Box | None:
        """The overlap of two boxes, or ``None`` when they do not overlap."""
        x1, y1 = max(self.x1, other.x1), max(self.y1, other.y1)
        x2, y2 = min(self.x2, other.x2), min(self.y2, other.y2)
        if x2 < x1 or y2 < y1:
            return None
        return Box(x1, y1, x2, y2)

    def iou(self, other: Box) -> float:
        """Intersection over union, in [0, 1]; 0 when both boxes have no area."""
        inter = self.intersection(other)
        inter_area = 0.0 if inter is None else inter.area
        union = self.area + other.area - inter_area
        if union <= 0:
            return 0.0
        return min(1.0, max(0.0, inter_area / union))

    # -- transforms ------------------------------------------------------------------
    def clip(self, width: float, height: float) -> Box:
        """Clamp into the image ``[0, width] x [0, height]``."""
        if width < 0 or height < 0:
            raise ValueError(f"image size must be >= 0, got {width}x{height}")

        def clamp(v: float, hi: float) -> float:
            return min(max(v, 0.0), hi)

        return Box(
            clamp(self.x1, width),
            clamp(self.y1, height),
            clamp(self.x2, width),
            clamp(self.y2, height),
        )

    def scale(self, fx: float, fy: float | None = None) -> Box:
        """Multiply the coordinates (about the origin) by ``fx`` and ``fy`` (default ``fx``).

        Maps a box between image sizes, e.g. model input to camera frame.
        """
        fy = fx if fy is None else fy
        if fx < 0 or fy < 0:
            raise ValueError(f"scale factors must be >= 0, got {fx}, {fy}")
        return Box(self.x1 * fx, self.y1 * fy, self.x2 * fx, self.y2 * fy)

    def translate(self, dx: float, dy: float) -> Box:
        return Box(self.x1 + dx, self.y1 + dy, self.x2 + dx, self.y2 + dy)

    def expand(self, margin: float) -> Box:
        """Grow by ``margin`` pixels on every side (shrink when negative, down to a point)."""
        cx, cy = self.centre
        half_w = max(0.0, self.width / 2 + margin)
        half_h = max(0.0, self.height / 2 + margin)
        return Box(cx - half_w, cy - half_h, cx + half_w, cy + half_h)


def boxes_to_array(boxes: Sequence[Box]) -> npt.NDArray[np.float64]:
    """An ``(N, 4)`` float64 array of ``x1, y1, x2, y2``."""
    if not boxes:
        return np.zeros((0, 4), dtype=np.float64)
    return np.array([b.as_tuple() for b in boxes], dtype=np.float64)
