"""Fit any frame into the detector's input: keep aspect, pad to a multiple of 32.

Training evaluation and run time both call :func:`letterbox`, so boxes map back to the
original pixels the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

PAD_VALUE = 128
MULTIPLE = 32


@dataclass(frozen=True)
class Letterbox:
    """How an original frame was placed in the network input (top-left aligned)."""

    scale: float  # input pixels per original pixel
    width: int  # input size after padding
    height: int
    content_width: int  # resized frame before padding
    content_height: int

    def to_original(self, boxes: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Map (N, 4) x1 y1 x2 y2 boxes from input to original pixel coordinates."""
        out: npt.NDArray[np.float32] = (boxes / self.scale).astype(np.float32)
        return out


def letterbox(
    image_rgb: npt.NDArray[np.uint8], long_side: int, scale: float | None = None
) -> tuple[npt.NDArray[np.uint8], Letterbox]:
    """Resize so the longer side is ``long_side`` (or by ``scale``) and pad right/bottom."""
    h, w = image_rgb.shape[:2]
    if h == 0 or w == 0:
        raise ValueError("empty image")
    s = scale if scale is not None else long_side / max(h, w)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    resized = (
        cv2.resize(image_rgb, (nw, nh), interpolation=interp) if (nw, nh) != (w, h) else image_rgb
    )
    pw = -(-nw // MULTIPLE) * MULTIPLE
    ph = -(-nh // MULTIPLE) * MULTIPLE
    canvas = np.full((ph, pw, 3), PAD_VALUE, np.uint8)
    canvas[:nh, :nw] = resized
    return canvas, Letterbox(s, pw, ph, nw, nh)
