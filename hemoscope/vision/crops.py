"""The one rule for cutting a white-cell crop from a detector box.

Training (PBC single-cell images) and run time (detector boxes in a field or in a
single-cell image) frame cells the same way: a square centred on the cell's box,
resized to the classifier's input size; pixels outside the image repeat the edge.

The square's side follows the physical scale of the picture when it can: red cells are
a ruler of known size (about 7.5 µm), so the side is ``RBC_CROP_FACTOR`` times the
median red-cell diameter of the field (`rbc_diameter`), never less than
``MIN_BOX_FACTOR`` times the cell's own box (a large blast stays whole). A small
lymphocyte thus stays small in its crop and a monocyte large, as in training, whatever
the camera's magnification. Where too few whole red cells are seen, the side is
``CROP_SCALE`` times the box's longer side.

Training crops PBC images at a fixed fraction of the image (all PBC images share one
magnification); ``RBC_CROP_FACTOR`` is that crop's side over the red-cell diameter the
detector measures in those images (``python benchmarks/measure_crop_scale.py``).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

CROP_SCALE = 2.0
"""Side of the square crop as a multiple of the longer side of the cell's box, when the
red cells cannot give the scale."""

PBC_CELL_FRACTION = 0.39
"""Median longer side of the white cell's box over the side of a PBC image.

Measured on the PBC-sourced fields of TXL-PBC (WBC boxes, median 141 px in 360x363
images). Training derives its nominal cell box on PBC images from it.
"""

RBC_CROP_FACTOR = 3.53
"""Crop side over the median red-cell diameter: the training crop of PBC images
(``2 x PBC_CELL_FRACTION`` of the image side) measured against the shipped detector's
red cells in 300 PBC images (median 3.53, 10th-90th percentile 3.23-3.79)."""

MIN_BOX_FACTOR = 1.25
"""With the red-cell scale, the crop is still at least this many times the box's longer
side."""

MIN_RBC = 3
"""Whole red cells (not touching the image's edge) needed to measure the scale."""

WBC_MIN_RBC_SHARE = 0.9
"""A white-cell box whose longer side is at least this share of the field's red-cell
diameter has a white cell's size. Measured with the shipped detector on PBC's
validation images (the white-cell box nearest the centre): lymphocytes 0.89-1.61
(1st percentile 0.94), erythroblasts from 0.84 (1st percentile 0.91), and the large
platelets and clumps that PBC's platelet images show, where the detector sees a white
cell, 0.62-1.07 (median 0.86)."""


def wbc_sized(box: npt.ArrayLike, rbc: float | None) -> bool:
    """Whether a box (x1, y1, x2, y2) has a white cell's size at the red-cell diameter
    ``rbc``; any box has when the scale is unknown (None)."""
    x1, y1, x2, y2 = (float(v) for v in np.asarray(box, dtype=np.float64).reshape(4))
    return rbc is None or max(x2 - x1, y2 - y1) >= WBC_MIN_RBC_SHARE * rbc


def rbc_diameter(boxes: npt.ArrayLike, width: int, height: int) -> float | None:
    """The median diameter of the red cells ``boxes`` (x1, y1, x2, y2) that lie wholly
    inside a ``width`` x ``height`` image; None when fewer than `MIN_RBC` do."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    inner = b[(b[:, 0] > 2) & (b[:, 1] > 2) & (b[:, 2] < width - 2) & (b[:, 3] < height - 2)]
    if len(inner) < MIN_RBC:
        return None
    return float(np.median((inner[:, 2] - inner[:, 0] + inner[:, 3] - inner[:, 1]) / 2))


def crop_geometry(
    x1: float,
    y1: float,
    x2: float,
    y2: float,
    scale: float = CROP_SCALE,
    rbc: float | None = None,
) -> tuple[float, float, float]:
    """Centre and side ``(cx, cy, side)`` of the square crop for a box; ``rbc``: the
    field's red-cell diameter (`rbc_diameter`), None when unknown."""
    longer = max(x2 - x1, y2 - y1, 1.0)
    side = longer * scale if rbc is None else max(RBC_CROP_FACTOR * rbc, MIN_BOX_FACTOR * longer)
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
