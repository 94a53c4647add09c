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


def estimate(crop: U8) -> StainEstimate:
    """Background, red-cell density and gains of one RGB crop ``(S, S, 3)`` uint8."""
    if crop.ndim != 3 or crop.shape[2] != 3 or crop.shape[0] != crop.shape[1]:
        raise ValueError(f"expected a square RGB crop (S, S, 3), got {crop.shape}")
    px = crop[ring_mask(crop.shape[0])].astype(np.float64)
    lum = px.mean(axis=1)
    bright = px[lum >= np.quantile(lum, BACKGROUND_QUANTILE)]
    bg = np.median(bright, axis=0)
    unit = (1.0, 1.0, 1.0)
    if float(bg.mean()) < MIN_BACKGROUND_LUMINANCE:
        return StainEstimate(_t3(bg), None, unit, "none")
    od = np.log((bg + _EPS) / (px + _EPS))
    total = od.sum(axis=1)
    if float(np.mean(total < BACKGROUND_OD)) < MIN_BACKGROUND_SHARE:
        return StainEstimate(_t3(bg), None, unit, "none")
    lo, hi = RBC_OD_RANGE
    rbc = (total >= lo) & (total <= hi)
    if float(rbc.mean()) < MIN_RBC_SHARE:
        return StainEstimate(_t3(bg), None, unit, "background only")
    rbc_od = np.maximum(np.median(od[rbc], axis=0), 1e-3)
    gain = np.clip(np.asarray(REF_RBC_OD) / rbc_od, *OD_GAIN)
    return StainEstimate(_t3(bg), _t3(rbc_od), _t3(gain), "background and red cells")


def apply(crop: U8, est: StainEstimate) -> U8:
    """The crop rendered with PBC's background and red-cell density (see module doc)."""
    if est.basis == "none":
        return crop
    bg = np.asarray(est.background, np.float32)
    gain = np.asarray(est.gain, np.float32)
    od = np.log((bg + _EPS) / (crop.astype(np.float32) + _EPS))
    out = (np.asarray(REF_BACKGROUND, np.float32) + _EPS) * np.exp(-od * gain) - _EPS
    res: U8 = np.clip(out + 0.5, 0, 255).astype(np.uint8)
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
