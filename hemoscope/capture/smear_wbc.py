"""Optical-density renderers for white cells in the synthetic smear (May-Grünwald-Giemsa look).

Neutrophils (segmented with 2-5 lobes joined by thin strands, or band), lymphocytes,
monocytes, eosinophils and basophils, drawn as cytoplasm + nucleus (with clumped
chromatin) + granules. `WBC_KINDS` gives their shares and sizes. See `smear_cells`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from hemoscope.capture.smear_cells import (
    F32,
    Grid,
    Patch,
    body,
    dots,
    local_grid,
    paint,
    smooth_noise,
    tinted,
)

NUCLEUS_OD = (0.38, 1.55, 1.0)
"""Violet nuclear stain (azure-eosin): absorbs green strongly, red well, blue a little."""
NEUTROPHIL_OD = (0.10, 0.18, 0.08)
NEUTRO_GRANULE_OD = (0.12, 0.30, 0.12)
LYMPHO_OD = (0.02, 0.26, 0.32)
MONO_OD = (0.05, 0.2, 0.22)
EOSIN_GRANULE_OD = (0.62, 0.55, 0.08)
BASO_GRANULE_OD = (0.85, 1.75, 1.15)

WbcRenderer = Callable[[float, float, float, np.random.Generator], Patch]
"""Draws a white cell of the given radius at (x, y)."""


class _Cell:
    """One white cell under construction: a grid, its body, and its nucleus mask."""

    def __init__(self, cx: float, cy: float, radius: float, rng: np.random.Generator) -> None:
        self.rng = rng
        self.radius = radius
        self.grid: Grid = local_grid(cx, cy, radius * 1.08)
        self.coverage, self.rho = body(
            self.grid, radius, rng, aspect=rng.uniform(0.9, 1.0), wobble=0.04
        )
        self.mask = np.zeros((self.grid.size, self.grid.size), np.uint8)
        self.angle = rng.uniform(0, 360)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.grid.size, self.grid.size)

    def point(self, dist: float, angle_deg: float) -> tuple[float, float]:
        cx, cy = self.grid.centre()
        a = math.radians(angle_deg)
        return cx + dist * math.cos(a), cy + dist * math.sin(a)

    def ellipse(
        self, centre: tuple[float, float], axes: tuple[float, float], angle: float, value: int = 255
    ) -> None:
        cv2.ellipse(
            self.mask,
            (round(centre[0] * 16), round(centre[1] * 16)),
            (round(axes[0] * 16), round(axes[1] * 16)),
            angle,
            0,
            360,
            value,
            -1,
            cv2.LINE_AA,
            shift=4,
        )

    def strand(self, a: tuple[float, float], b: tuple[float, float], width: float) -> None:
        pa = (round(a[0] * 16), round(a[1] * 16))
        pb = (round(b[0] * 16), round(b[1] * 16))
        cv2.line(self.mask, pa, pb, 255, max(1, round(width)), cv2.LINE_AA, shift=4)

    def nucleus(self) -> F32:
        soft = cv2.GaussianBlur(self.mask.astype(np.float32) * np.float32(1 / 255), (0, 0), 0.9)
        return np.asarray(soft, dtype=np.float32) * self.coverage

    def chromatin(self, clump: float, sigma: float = 1.6) -> F32:
        """Clumped chromatin: density varying about 1 by about `clump`."""
        noise = smooth_noise(self.shape, sigma, self.rng)
        return np.asarray(np.clip(1.0 + clump * noise, 0.35, 1.8), dtype=np.float32)

    def granules(self, count: int, radius: tuple[float, float]) -> F32:
        found = dots(self.grid.size, self.grid.centre(), self.radius * 0.9, count, radius, self.rng)
        return found * self.coverage

    def finish(self, od: F32) -> Patch:
        return Patch(od.astype(np.float32), self.grid.x, self.grid.y)


def neutrophil(cx: float, cy: float, radius: float, rng: np.random.Generator) -> Patch:
    """Segmented (2-5 lobes joined by thin strands) or, one time in eight, band."""
    cell = _Cell(cx, cy, radius, rng)
    r = cell.radius
    if rng.uniform() < 0.125:
        cv2.ellipse(
            cell.mask,
            (round(cell.grid.centre()[0] * 16), round(cell.grid.centre()[1] * 16)),
            (round(r * 0.48 * 16), round(r * 0.40 * 16)),
            cell.angle,
            0,
            rng.uniform(200, 270),
            255,
            max(1, round(r * rng.uniform(0.2, 0.27))),
            cv2.LINE_AA,
            shift=4,
        )
    else:
        lobes = int(rng.choice([2, 3, 4, 5], p=[0.15, 0.45, 0.32, 0.08]))
        step = rng.uniform(70, 95)
        previous: tuple[float, float] | None = None
        for i in range(lobes):
            angle = cell.angle + i * step + rng.uniform(-10, 10)
            centre = cell.point(r * rng.uniform(0.32, 0.4), angle)
            tilt = angle + 90 + rng.uniform(-30, 30)
            axes = (r * rng.uniform(0.33, 0.39), r * rng.uniform(0.24, 0.29))
            cell.ellipse(centre, axes, tilt)
            bump = (centre[0] + rng.normal(0, r * 0.05), centre[1] + rng.normal(0, r * 0.05))
            cell.ellipse(bump, (axes[0] * 0.75, axes[1] * 0.85), tilt + rng.uniform(-40, 40))
            if previous is not None:
                cell.strand(previous, centre, r * rng.uniform(0.04, 0.09))
            previous = centre
    nucleus = cell.nucleus()
    granules = smooth_noise(cell.shape, 0.7, rng)
    granules = np.clip(granules - 0.8, 0.0, 1.2) * cell.coverage
    od = paint(cell.coverage * (1 - 0.6 * nucleus), tinted(NEUTROPHIL_OD, rng, 0.15))
    od += paint(granules, tinted(NEUTRO_GRANULE_OD, rng, 0.2))
    od += paint(nucleus * cell.chromatin(0.3), tinted(NUCLEUS_OD, rng, 0.1))
    return cell.finish(od)


def lymphocyte(cx: float, cy: float, radius: float, rng: np.random.Generator) -> Patch:
    """Small round cell: a big dense round nucleus and a thin rim of blue cytoplasm."""
    cell = _Cell(cx, cy, radius, rng)
    r = cell.radius
    centre = cell.point(r * rng.uniform(0.04, 0.12), cell.angle)
    # The nucleus fills most of the cell; its chromatin is finely speckled, not granular.
    cell.ellipse(centre, (r * rng.uniform(0.89, 0.95), r * rng.uniform(0.83, 0.89)), cell.angle)
    if rng.uniform() < 0.35:  # a small notch
        cell.ellipse(cell.point(r * 0.85, cell.angle + 180), (r * 0.22, r * 0.16), cell.angle, 0)
    nucleus = cell.nucleus()
    od = paint(cell.coverage * (1 - 0.7 * nucleus), tinted(LYMPHO_OD, rng, 0.2))
    od += paint(nucleus * cell.chromatin(0.15, 0.8), tinted(NUCLEUS_OD, rng, 0.08))
    return cell.finish(od)


def monocyte(cx: float, cy: float, radius: float, rng: np.random.Generator) -> Patch:
    """Large cell: grey-blue cytoplasm with a few vacuoles, a kidney-shaped lacy nucleus."""
    cell = _Cell(cx, cy, radius, rng)
    r = cell.radius
    centre = cell.point(r * 0.1, cell.angle + 180)
    cell.ellipse(centre, (r * rng.uniform(0.66, 0.74), r * rng.uniform(0.54, 0.6)), cell.angle)
    notch = cell.point(r * rng.uniform(0.58, 0.66), cell.angle + 90 + rng.uniform(-20, 20))
    cell.ellipse(notch, (r * 0.3, r * 0.17), cell.angle + rng.uniform(-20, 20), 0)
    nucleus = cell.nucleus()
    vacuoles = dots(
        cell.grid.size, cell.grid.centre(), r * 0.8, int(rng.integers(0, 7)), (2, 5), rng
    )
    cytoplasm = cell.coverage * (1 - 0.65 * nucleus) * (1 - 0.7 * vacuoles)
    cytoplasm *= 1 + 0.12 * smooth_noise(cell.shape, 1.0, rng)
    od = paint(cytoplasm, tinted(MONO_OD, rng, 0.15))
    od += paint(nucleus * cell.chromatin(0.35, 1.1), tinted(NUCLEUS_OD, rng, 0.1) * 0.8)
    return cell.finish(od)


def eosinophil(cx: float, cy: float, radius: float, rng: np.random.Generator) -> Patch:
    """Bilobed nucleus in a cytoplasm packed with coarse orange-red granules."""
    cell = _Cell(cx, cy, radius, rng)
    r = cell.radius
    a = cell.point(r * 0.33, cell.angle)
    b = cell.point(r * 0.33, cell.angle + rng.uniform(150, 200))
    for centre in (a, b):
        cell.ellipse(centre, (r * rng.uniform(0.27, 0.33), r * rng.uniform(0.22, 0.26)), cell.angle)
    cell.strand(a, b, r * 0.06)
    nucleus = cell.nucleus()
    count = int(0.9 * r * r / (2.6 * 2.6))
    granules = cell.granules(count, (2.0, 3.2)) * (1 - 0.6 * nucleus)
    od = paint(cell.coverage, tinted(NEUTROPHIL_OD, rng, 0.15))
    od += paint(granules, tinted(EOSIN_GRANULE_OD, rng, 0.12))
    od += paint(nucleus * cell.chromatin(0.25), tinted(NUCLEUS_OD, rng, 0.1))
    return cell.finish(od)


def basophil(cx: float, cy: float, radius: float, rng: np.random.Generator) -> Patch:
    """A pale lobed nucleus mostly hidden under coarse dark purple granules."""
    cell = _Cell(cx, cy, radius, rng)
    r = cell.radius
    cell.ellipse(cell.point(r * 0.1, cell.angle), (r * 0.55, r * 0.45), cell.angle)
    nucleus = cell.nucleus()
    granules = cell.granules(int(0.5 * r * r / 9.0), (2.2, 3.6))
    od = paint(cell.coverage, tinted(NEUTROPHIL_OD, rng, 0.15) * 1.5)
    od += paint(nucleus * cell.chromatin(0.2), tinted(NUCLEUS_OD, rng, 0.1) * 0.7)
    od += paint(granules, tinted(BASO_GRANULE_OD, rng, 0.12))
    return cell.finish(od)


WBC_KINDS: dict[str, tuple[float, tuple[float, float], WbcRenderer]] = {
    "neutrophil": (0.52, (1.6, 2.0), neutrophil),
    "lymphocyte": (0.28, (1.05, 1.35), lymphocyte),
    "monocyte": (0.10, (1.9, 2.4), monocyte),
    "eosinophil": (0.08, (1.6, 1.9), eosinophil),
    "basophil": (0.02, (1.4, 1.65), basophil),
}
"""White-cell kinds: share of the white cells, radius relative to a red cell's, renderer.
The radii follow the shipped detector's boxes in PBC images (diameter over the median
red-cell diameter: neutrophil 1.6-2.1, lymphocyte 1.1-1.5, monocyte 1.9-2.5, eosinophil
1.5-2.0, basophil 1.4-1.9, 10th-90th percentiles)."""
