"""The one rule for cutting a white-cell crop from a detector box.

Training (PBC single-cell images) and run time (detector boxes in a field) both call
:func:`crop_geometry` and :func:`cut_crop`, so the classifier always sees cells framed
the same way: a square centred on the box, ``CROP_SCALE`` times the box's longer side,
resized to the classifier's input size. Pixels outside the image repeat the edge.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

CROP_SCALE = 2.0
"""Side of the square crop as a multiple of the longer side of the cell's box."""

PBC_CELL_FRACTION = 0.39
"""Median longer side of the white cell's box over the side of a PBC image.

Measured on the PBC-sourced fields of TXL-PBC (WBC boxes, median 141 px in 360x363
images). Training derives its nominal cell box on PBC images from it.
"""


def crop_geometry(
    x1: float, y1: float, x2: float, y2: float, scale: float = CROP_SCALE
) -> tuple[float, float, float]:
    """Centre and side ``(cx, cy, side)`` of the square crop for a box."""
    side = max(x2 - x1, y2 - y1, 1.0) * scale
    return (x1 + x2) / 2.0, (y1 + y2) / 2.0, side


def cut_crop(
    image: npt.NDArray[np.uint8],
    cx: float,
    cy: float,
    side: float,
    size: int,
    angle_deg: float = 0.0,
    flip: bool = False,
) -> npt.NDArray[np.uint8]:
    """Cut a ``size`` x ``size`` square of ``side`` pixels centred on (cx, cy).

    ``angle_deg`` and ``flip`` are for training-time augmentation; run time uses 0 and
    False. One affine warp does crop, resize and rotation together (bilinear; area
    resampling is approximated by a pre-blur when shrinking more than 2x).
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {image.shape}")
    if side <= 0 or size <= 0:
        raise ValueError("crop side and size must be positive")
    s = size / side
    # Work on the window the crop can sample from (a rotated square reaches 0.71 side
    # from its centre), so the cost depends on the crop, not on the frame's size.
    h, w = image.shape[:2]
    x0 = min(max(math.floor(cx - side * 0.75), 0), w - 1)
    y0 = min(max(math.floor(cy - side * 0.75), 0), h - 1)
    x1 = max(min(math.ceil(cx + side * 0.75) + 1, w), x0 + 1)
    y1 = max(min(math.ceil(cy + side * 0.75) + 1, h), y0 + 1)
    src = image[y0:y1, x0:x1]
    cx, cy = cx - x0, cy - y0
    if s < 0.5:
        # Anti-alias before a strong reduction, as cv2.INTER_AREA would.
        sigma = 0.5 / s / 2.0
        k = int(2 * math.ceil(2 * sigma) + 1)
        src = np.asarray(cv2.GaussianBlur(src, (k, k), sigma), np.uint8)
    a = math.radians(angle_deg)
    cos, sin = math.cos(a) * s, math.sin(a) * s
    fx = -1.0 if flip else 1.0
    half = size / 2.0
    # Maps source (x, y) to destination: rotate/scale about (cx, cy), then centre.
    m = np.array(
        [
            [fx * cos, fx * sin, half - fx * (cos * cx + sin * cy)],
            [-sin, cos, half - (-sin * cx + cos * cy)],
        ],
        dtype=np.float64,
    )
    out = cv2.warpAffine(
        src, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return np.ascontiguousarray(out, dtype=np.uint8)


def whole_image_geometry(height: int, width: int) -> tuple[float, float, float]:
    """Crop geometry when an image *is* one cell's crop: centred, the longer side."""
    return width / 2.0, height / 2.0, float(max(height, width))
