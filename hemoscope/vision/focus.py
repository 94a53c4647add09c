"""Is a crop in focus? The width of its sharpest edges, in crop pixels.

The embedding distance of `vision.unfamiliar` misses one kind of non-cell: a cell far
out of focus. The classifier was trained not to tell laboratories apart, and other
laboratories' pictures are softer than PBC's, so a smooth round blob looks to it like
a soft erythroblast. Focus is measured on its own, from the picture alone.

A sharp edge blurred by a Gaussian of width ``sigma`` rises by its contrast ``c`` with a
steepest slope of ``c / (sigma * sqrt(2 pi))``. So the crop's contrast (the spread of its
luminance, 1st to 99th percentile) over its steepest slopes (the 99.5th percentile of the
gradient magnitude) estimates the blur width of its sharpest edges. For one edge carrying
the whole contrast (a dark disc on glass) that is the blur itself; a cell's edges (glass
to cytoplasm, cytoplasm to nucleus) each carry part of it, so a cell reads wider than its
blur by a factor that stays the same as it goes out of focus: the measure ranks focus,
and its threshold is set on real cells. It does not change with the picture's
brightness, contrast or colour cast, and as crops are framed by the cell's size it does not
depend on the magnification either. A light smoothing (sigma 1) first keeps camera noise
from passing for edges.

Measured on the crops as the classifier frames them (width: median / largest): PBC
validation 1.8 / 2.9, jiangxi 2.7 / 3.9, bionet fields 2.6 / 3.3 (and, measured once on
the unlabelled cells of `training.pseudo_labels`, TXL-PBC's BCCD, BCDD and Raabin cells
2.2-2.4 / 3.3); a cell blurred with sigma 7 measures 9.2. PBC cells blurred on purpose
(sigma 2 / 3 / 4 / 5 crop pixels) measure 2.9 / 3.8 / 4.7 / 5.6 while the classifier's
accuracy on them falls 96 -> 93 -> 81 -> 70 %. Crops wider than
`OUT_OF_FOCUS_WIDTH` are flagged ``unfamiliar`` (unlike any class the classifier knows).
``python benchmarks/focus_widths.py`` prints these figures.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from hemoscope.vision.order_stats import kth_largest

OUT_OF_FOCUS_WIDTH = 4.5
"""Blur width (crop pixels) above which a crop is out of focus: 15 % above the softest
real cell of five laboratories (3.9), where blur starts to cost the classifier most."""

_SMOOTH = 1.0
_SLOPE = 1.0 / np.sqrt(2.0 * np.pi)


def blur_width(crops: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """Estimated blur width of each RGB crop (N, S, S, 3), in crop pixels; 0 for a crop
    without contrast (a blank crop has no edges to be out of focus). About 0.2 ms a crop
    (the percentiles are order statistics found among a few candidates, `kth_largest`)."""
    arr = np.asarray(crops)
    out = np.zeros(len(arr))
    if not len(arr):
        return out
    n = arr.shape[1] * arr.shape[2]
    low, high, steep = (round(q * (n - 1)) for q in (0.01, 0.99, 0.995))
    for i, crop in enumerate(arr):
        lum = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY).astype(np.float32)
        grey = cv2.GaussianBlur(lum, (0, 0), _SMOOTH)
        gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
        gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
        slope = float(kth_largest(cv2.magnitude(gx, gy).ravel(), n - steep))
        levels = grey.ravel()
        contrast = float(kth_largest(levels, n - high) + kth_largest(-levels, low + 1))
        if contrast < 1.0 or slope <= 0.0:
            continue
        out[i] = contrast * _SLOPE / slope
    return out


def out_of_focus(crops: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Crops too blurred to be classified (`blur_width` above `OUT_OF_FOCUS_WIDTH`)."""
    return blur_width(crops) > OUT_OF_FOCUS_WIDTH
