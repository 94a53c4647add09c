"""Colour standardisation of white-cell crops, anchored on what every smear shows.

Every blood-smear picture, whatever the camera, stain or white balance, shows the plain
background between the cells (the light source through the glass) and red cells (one
stain, eosin, in a known amount). The classifier's crop (`crops.cut_crop`: the white
cell in the middle, about half the side) shows both in its outer ring. So each crop is
rendered as the training laboratory would have shown it:

1. **Background** (the white point): the brightest quarter of the ring's pixels; their
   median colour is the light that reached the camera through bare glass.
2. **Optical density** per channel, ``od = ln(background / pixel)`` (Beer-Lambert:
   what the stains absorbed, independent of the lamp and the camera's gains).
3. **Red cells** (the stain anchor): the median optical density of the ring's pixels
   that are neither background nor dark (``RBC_OD_RANGE``). The density is scaled per
   channel so that red cells absorb as PBC's red cells do (gains within ``OD_GAIN``).
4. Rendered with PBC's background colour: ``pixel = REF_BACKGROUND x exp(-od x gain)``.

A crop with too little of a ring that looks like background and red cells (a tight crop
filled by the cell) keeps step 3's gains at 1 ("background only"); a crop without a
plausible background (too dark, or a background-free ring) is left as it is ("none").
`StainBasis` says which was used, and the pipeline reports it with each cell.

Training applies the same function to every augmented crop (after the simulated camera
and stain changes), so the classifier learns what this rendering gives for other
laboratories' pictures: one definition, shared by training and run time.
The reference values are PBC's medians (``python benchmarks/stain_reference.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]

StainBasis = Literal["background and red cells", "background only", "none"]

REF_BACKGROUND = (254.0, 228.0, 202.0)
"""PBC's background colour (RGB), the median over its validation crops."""

REF_RBC_OD = (0.197, 0.284, 0.181)
"""PBC's red cells' optical density (R, G, B), the median over its validation crops."""

RING_RADIUS = 0.36
"""Pixels farther than this share of the crop's side from its centre form the ring."""

BACKGROUND_QUANTILE = 0.75
"""The ring's pixels at least this bright (luminance quantile) give the background."""

MIN_BACKGROUND_LUMINANCE = 90.0
"""A background darker than this (0-255) is not plausible: the crop is left as it is."""

BACKGROUND_OD = 0.15
"""Ring pixels absorbing less than this (summed over channels) count as background."""

RBC_OD_RANGE = (0.15, 1.2)
"""Summed optical density of the ring's red-cell pixels: above background, below nuclei."""

MIN_RBC_SHARE = 0.10
"""Share of the ring that must look like red cells to use them as the stain anchor."""

MIN_BACKGROUND_SHARE = 0.05
"""Share of the ring that must look like background for the white point to be trusted."""

OD_GAIN = (0.5, 2.0)
"""Range of the per-channel optical-density gains (a red-cell estimate far off is
clipped rather than followed)."""

_EPS = 1.0


@dataclass(frozen=True)
class StainEstimate:
    """What a crop's ring showed: background colour (RGB), red-cell optical density
    (None when not used) and the per-channel gains applied."""

    background: tuple[float, float, float]
    rbc_od: tuple[float, float, float] | None
    gain: tuple[float, float, float]
    basis: StainBasis


_RING_CACHE: dict[int, npt.NDArray[np.bool_]] = {}


def ring_mask(size: int) -> npt.NDArray[np.bool_]:
    """The outer ring of a ``size`` x ``size`` crop (where the background and red cells
    are, around the white cell in the middle)."""
    mask = _RING_CACHE.get(size)
    if mask is None:
        c = (size - 1) / 2.0
        yy, xx = np.mgrid[:size, :size]
        mask = np.hypot(yy - c, xx - c) > RING_RADIUS * size
        _RING_CACHE[size] = mask
    return mask


_LOG = np.log(np.arange(256, dtype=np.float64) + _EPS)
_LEVELS = np.arange(256, dtype=np.float32)


def _order_stats(values: npt.NDArray[np.integer], ks: tuple[int, ...], top: int) -> list[int]:
    """The k-th smallest of integer ``values`` in 0..top for each k (a counting sort:
    exact, and much faster than sorting for 8-bit pixels)."""
    cum = np.cumsum(np.bincount(values, minlength=top + 1))
    return [int(v) for v in np.searchsorted(cum, np.asarray(ks) + 1)]


def _quantile(values: npt.NDArray[np.integer], q: float, top: int) -> float:
    """``np.quantile(values, q)`` (linear interpolation) of integers in 0..top."""
    h = (len(values) - 1) * q
    lo = int(np.floor(h))
    a, b = _order_stats(values, (lo, min(lo + 1, len(values) - 1)), top)
    return a + (h - lo) * (b - a)


def _middle(values: npt.NDArray[np.uint8]) -> tuple[int, int]:
    """The two middle order statistics of 8-bit ``values`` (equal when their count is
    odd): their mean is the median, and the median of any monotone function of them is
    the mean of the function at these two."""
    n = len(values)
    a, b = _order_stats(values, ((n - 1) // 2, n // 2), 255)
    return a, b


def estimate(crop: U8) -> StainEstimate:
    """Background, red-cell density and gains of one RGB crop ``(S, S, 3)`` uint8."""
    if crop.ndim != 3 or crop.shape[2] != 3 or crop.shape[0] != crop.shape[1]:
        raise ValueError(f"expected a square RGB crop (S, S, 3), got {crop.shape}")
    ring = ring_mask(crop.shape[0])
    planes = [np.ascontiguousarray(crop[..., c])[ring] for c in range(3)]
    lum = planes[0].astype(np.int32) + planes[1] + planes[2]  # 3 x luminance: same order
    bright = lum >= _quantile(lum, BACKGROUND_QUANTILE, 765)
    bg = np.array([sum(_middle(p[bright])) / 2.0 for p in planes])
    unit = (1.0, 1.0, 1.0)
    if float(bg.mean()) < MIN_BACKGROUND_LUMINANCE:
        return StainEstimate(_t3(bg), None, unit, "none")
    log_bg = np.log(bg + _EPS)
    total = (log_bg[0] - _LOG[planes[0]]) + (log_bg[1] - _LOG[planes[1]])
    total += log_bg[2] - _LOG[planes[2]]  # ln((bg + 1) / (pixel + 1)) summed over channels
    if float(np.mean(total < BACKGROUND_OD)) < MIN_BACKGROUND_SHARE:
        return StainEstimate(_t3(bg), None, unit, "none")
    lo, hi = RBC_OD_RANGE
    rbc = (total >= lo) & (total <= hi)
    if float(rbc.mean()) < MIN_RBC_SHARE:
        return StainEstimate(_t3(bg), None, unit, "background only")
    # The density falls as the pixel brightens: its median from the two middle pixels.
    med = np.array(
        [
            (2 * log_bg[c] - _LOG[a] - _LOG[b]) / 2
            for c, (a, b) in enumerate(_middle(p[rbc]) for p in planes)
        ]
    )
    rbc_od = np.maximum(med, 1e-3)
    gain = np.clip(np.asarray(REF_RBC_OD) / rbc_od, *OD_GAIN)
    return StainEstimate(_t3(bg), _t3(rbc_od), _t3(gain), "background and red cells")


def apply(crop: U8, est: StainEstimate) -> U8:
    """The crop rendered with PBC's background and red-cell density (see module doc).

    Each output channel depends on that channel's input level only, so the rendering is
    one 256-entry table per channel."""
    if est.basis == "none":
        return crop
    bg = np.asarray(est.background, np.float32)[:, None]
    gain = np.asarray(est.gain, np.float32)[:, None]
    od = np.log((bg + _EPS) / (_LEVELS[None, :] + _EPS))
    ref = np.asarray(REF_BACKGROUND, np.float32)[:, None]
    table = np.clip((ref + _EPS) * np.exp(-od * gain) - _EPS + 0.5, 0, 255).astype(np.uint8)
    res: U8 = np.asarray(cv2.LUT(crop, np.ascontiguousarray(table.T).reshape(256, 1, 3)), np.uint8)
    return res


def standardise(crop: U8) -> tuple[U8, StainEstimate]:
    """One crop standardised, and the estimate it was standardised by."""
    est = estimate(crop)
    return apply(crop, est), est


def standardise_batch(crops: U8) -> tuple[U8, tuple[StainBasis, ...]]:
    """Crops ``(N, S, S, 3)`` standardised one by one, and the basis of each."""
    arr = np.asarray(crops, dtype=np.uint8)
    if arr.ndim != 4:
        raise ValueError(f"expected crops (N, S, S, 3), got {arr.shape}")
    out = np.empty_like(arr)
    bases: list[StainBasis] = []
    for i in range(len(arr)):
        out[i], est = standardise(arr[i])
        bases.append(est.basis)
    return out, tuple(bases)


def _t3(v: F64) -> tuple[float, float, float]:
    return (float(v[0]), float(v[1]), float(v[2]))
