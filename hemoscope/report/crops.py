"""Square cell crops cut from a field image: the classifier's framing rule, locally.

The rule (the same as the classifier's, restated here because report may not import
vision): a square centred on the cell's box, with side ``scale`` (2.0) times the box's
longer side; pixels outside the image repeat the edge pixel. Callers that want the
exact run-time crop may pass their own function of the same shape (`CropFunction`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt

from hemoscope.core import Box

__all__ = ["CROP_SCALE", "CropFunction", "FieldImages", "square_crop"]

CROP_SCALE = 2.0

Image = npt.NDArray[np.uint8]
#: ``(field image, box, output size in pixels or None for native) -> square crop``.
CropFunction = Callable[[Image, Box, int | None], Image]
#: ``field id -> BGR image of the field``, or ``None`` when the image is not available.
FieldImages = Callable[[str], Image | None]


def square_crop(
    image: Image, box: Box, size: int | None = None, scale: float = CROP_SCALE
) -> Image:
    """Cut the square crop of ``box`` from ``image`` (H x W or H x W x C, uint8).

    ``size`` resizes the crop to ``size`` x ``size`` (area interpolation when shrinking);
    ``None`` keeps the crop's own pixel size. The crop side is at least one pixel.
    """
    if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"expected a non-empty H x W (x C) image, got shape {image.shape}")
    if size is not None and size <= 0:
        raise ValueError(f"crop size must be positive, got {size}")
    side = max(1, round(max(box.width, box.height, 1.0) * scale))
    cx, cy = box.centre
    x0 = math.floor(cx - side / 2 + 0.5)
    y0 = math.floor(cy - side / 2 + 0.5)
    h, w = image.shape[:2]
    xs = np.clip(np.arange(x0, x0 + side), 0, w - 1)
    ys = np.clip(np.arange(y0, y0 + side), 0, h - 1)
    crop: Image = np.ascontiguousarray(image[ys[:, None], xs[None, :]])
    if size is None or size == side:
        return crop
    interpolation = cv2.INTER_AREA if size < side else cv2.INTER_LINEAR
    resized: Image = np.asarray(
        cv2.resize(crop, (size, size), interpolation=interpolation), dtype=np.uint8
    )
    if crop.ndim == 3 and resized.ndim == 2:  # cv2 drops a single channel axis
        resized = resized[:, :, None]
    return resized
