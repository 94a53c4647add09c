"""Convert numpy images to QImage without getting the row stride wrong."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PySide6.QtGui import QImage

__all__ = ["bgr_to_qimage"]


def bgr_to_qimage(image: npt.NDArray[np.uint8]) -> QImage:
    """A QImage that owns a copy of the (H, W, 3) uint8 BGR array `image`.

    Rows are passed with their real stride (``image.strides[0]``), so padded rows and
    views such as ``big[10:20, 5:9]`` convert correctly; arrays whose pixels are not
    packed (a channel-reversed view, a column step) are made contiguous first.
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 BGR array, got {image.dtype} {image.shape}")
    if image.strides[1:] != (3, 1):
        image = np.ascontiguousarray(image)
    height, width = image.shape[:2]
    if height == 0 or width == 0:
        return QImage()
    stride = image.strides[0]
    if stride < 0:
        image, stride = np.ascontiguousarray(image), width * 3
    # One flat view from the first pixel to the end of the last row, stride included.
    span = stride * (height - 1) + width * 3
    flat = np.lib.stride_tricks.as_strided(image, shape=(span,), strides=(1,), writeable=False)
    view = QImage(flat.data, width, height, stride, QImage.Format.Format_BGR888)
    return view.copy()  # detach from the numpy buffer, which may be freed or reused
