"""Normalise any 8-bit frame (BGR, RGB, gray, with alpha) to contiguous RGB."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

Channels = Literal["bgr", "rgb"]


def to_rgb(image: npt.NDArray[np.generic], channels: Channels = "bgr") -> npt.NDArray[np.uint8]:
    """Return an (H, W, 3) uint8 RGB view or copy of ``image``.

    Accepts (H, W), (H, W, 1), (H, W, 3) and (H, W, 4) uint8 arrays; the colour order of
    3- and 4-channel input is given by ``channels``; alpha is ignored.
    """
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ValueError(
            f"expected an 8-bit image, got dtype {arr.dtype}; convert it to uint8 first"
        )
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        if arr.size == 0:
            raise ValueError("the image is empty (0 pixels)")
        return np.asarray(cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_GRAY2RGB), np.uint8)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError("the image is empty (0 pixels)")
    arr = arr[:, :, :3]
    if channels == "bgr":
        arr = arr[:, :, ::-1]
    return np.ascontiguousarray(arr)
