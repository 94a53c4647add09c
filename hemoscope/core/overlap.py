"""Fields that overlap: no white cell is counted twice, and one rule for cells cut by the
field's edge. Pure numpy.

At the microscope the stage moves little between captures, so a new field often shows
part of an earlier one. `register` finds where (phase correlation of small grey
thumbnails, high-passed so that the fixed vignette and dust of the optics do not lock
the match at no shift; the best of a few correlation peaks, each checked by normalised
cross-correlation of the overlapping parts); `mark_field` then matches the white cells
of the new field with those of the earlier fields at their registered positions
(confirming the registration: most earlier cells expected in the overlap must be found
there) and marks the matches `UNCOUNTED_REPEAT`. They stay in the field, visible, but
out of the tally.

The edge rule, the same for every source (camera, simulated microscope, image files): a
white cell whose box touches the field's edge (within `EDGE_MARGIN_PX`) is cut by it. It
is marked `UNCOUNTED_EDGE`: it is not counted, it is not classified reliably from a part,
and the field that shows it whole (the next one, the stage having moved) counts it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from .cells import Cell, Field
from .taxonomy import CellKind

__all__ = [
    "EDGE_MARGIN_PX",
    "RECENT_FIELDS",
    "UNCOUNTED_EDGE",
    "UNCOUNTED_REPEAT",
    "Registration",
    "Thumbnail",
    "box_cut_by_edge",
    "cut_by_edge",
    "mark_field",
    "register",
    "repeats",
    "thumbnail",
]

UNCOUNTED_REPEAT = "already counted"
"""A white cell counted in an earlier field of the case (the fields overlap)."""
UNCOUNTED_EDGE = "cut by the edge"
"""A white cell cut by the field's edge: the field that shows it whole counts it."""
EDGE_MARGIN_PX = 2.0
THUMB_SIDE = 192
"""Long side of the thumbnails registered, pixels."""
MIN_OVERLAP = 0.08
"""Fields overlapping less than this fraction of their area are not compared."""
MIN_NCC = 0.75
"""Normalised cross-correlation of the overlapping parts that confirms a registration.
Fields that really overlap score 0.96-0.99 (14 pairs among 60 consecutive photographs of
``other-labs/bionet``); unrelated fields up to 0.61 (generated smears: 14 of 402 pairs
at 0.50-0.61; TXL-PBC validation, 288 fields, each against the 12 before it: one pair
at 0.51). At 0.5 those unrelated pairs registered, and a cell of one could be taken
for a cell of the other."""
MIN_CELL_AGREEMENT = 0.5
"""Fraction of the earlier white cells expected in the overlap that must be found there."""
PEAKS = 6
RECENT_FIELDS = 12
"""A new field is compared with this many fields before it (the stage moves little
between captures)."""

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class Thumbnail:
    """A field's picture for registration: grey, small, high-passed, unit variance.
    ``scale``: field pixels per thumbnail pixel. ``spectrum``: the Fourier transform of
    the tapered pixels (`spectrum`), computed once by `thumbnail` so that registering a
    field against the fields before it transforms each picture once, not once per pair."""

    pixels: F32
    scale: int
    width: int
    height: int
    spectrum: npt.NDArray[np.complex64] | None = dataclasses.field(default=None, repr=False)


@dataclass(frozen=True)
class Registration:
    """Where a new field lies in an earlier one: a point (x, y) of the new field is at
    (x + dx, y + dy) in the earlier field (field pixels). ``score``: the normalised
    cross-correlation of the overlapping parts (1: identical)."""

    dx: float
    dy: float
    score: float
    overlap: float


def thumbnail(image: npt.NDArray[np.generic], side: int = THUMB_SIDE) -> Thumbnail:
    """The thumbnail of an H x W (x C) image. A large image is first sampled every few
    pixels (a view, no copy), then averaged in blocks: ~10 ms for 12 megapixels."""
    height, width = image.shape[:2]
    step = max(1, math.ceil(max(height, width) / side) // 4)
    grey = np.asarray(image[::step, ::step], np.float32)
    if grey.ndim == 3:
        grey = grey.mean(axis=2)
    block = max(1, math.ceil(max(grey.shape) / side))
    h, w = grey.shape[0] // block, grey.shape[1] // block
    small = grey[: h * block, : w * block].reshape(h, block, w, block).mean(axis=(1, 3))
    scale = step * block
    small = small - _box_blur(small, max(3, min(h, w) // 8))
    small = np.asarray((small - small.mean()) / (small.std() + 1e-6), np.float32)
    return Thumbnail(small, scale, width, height, spectrum(small))


def spectrum(pixels: F32) -> npt.NDArray[np.complex64]:
    """The 2-D Fourier transform of a thumbnail's pixels under the tapered window (the
    half a real picture needs, single precision: as large as the pixels)."""
    h, w = pixels.shape
    window = np.outer(_taper(h), _taper(w)).astype(np.float32)
    return np.fft.rfft2(pixels * window).astype(np.complex64)


def _box_blur(image: F32, size: int) -> F32:
    pad = size // 2
    padded = np.pad(image, pad, mode="edge")
    total = padded.cumsum(0).cumsum(1)
    total = np.pad(total, ((1, 0), (1, 0)))
    h, w = image.shape
    window = (
        total[size : size + h, size : size + w]
        - total[:h, size : size + w]
        - total[size : size + h, :w]
        + total[:h, :w]
    )
    return np.asarray(window / (size * size), np.float32)


def register(earlier: Thumbnail, new: Thumbnail) -> Registration | None:
    """Where `new` lies in `earlier`, or None when they do not overlap (or the pictures
    differ in size)."""
    a, b = earlier.pixels, new.pixels
    if a.shape != b.shape or earlier.scale != new.scale:
        return None
    h, w = a.shape
    fa = earlier.spectrum if earlier.spectrum is not None else spectrum(a)
    fb = new.spectrum if new.spectrum is not None else spectrum(b)
    cross = fb * np.conj(fa)
    surface = np.fft.irfft2(cross / (np.abs(cross) + 1e-9), s=(h, w)).ravel()
    top = (
        np.argpartition(surface, -PEAKS)[-PEAKS:]
        if surface.size > PEAKS
        else np.arange(surface.size)
    )
    best: Registration | None = None
    for flat in top[np.argsort(surface[top])[::-1]]:
        py, px = divmod(int(flat), w)
        for sy in (py, py - h):
            for sx in (px, px - w):
                found = _check(a, b, -sx, -sy)
                if found is not None and (best is None or found.score > best.score):
                    best = found
    if best is None or best.score < MIN_NCC:
        return None
    s = earlier.scale
    return replace(best, dx=best.dx * s, dy=best.dy * s)


def _taper(n: int, fraction: float = 0.1) -> npt.NDArray[np.float64]:
    """A window flat in the middle with cosine tapers over `fraction` of each end (a
    Hann window would hide small overlaps, which lie at the edges)."""
    ramp = max(1, int(n * fraction))
    window = np.ones(n)
    rise = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)
    window[:ramp], window[n - ramp :] = rise, rise[::-1]
    return window


def _check(a: F32, b: F32, dx: int, dy: int) -> Registration | None:
    """NCC of `b` placed at (dx, dy) in `a` (b's point p is a's p + (dx, dy))."""
    h, w = a.shape
    ow, oh = w - abs(dx), h - abs(dy)
    overlap = ow * oh / (w * h)
    if ow < 8 or oh < 8 or overlap < MIN_OVERLAP:
        return None
    pa = a[max(dy, 0) : max(dy, 0) + oh, max(dx, 0) : max(dx, 0) + ow]
    pb = b[max(-dy, 0) : max(-dy, 0) + oh, max(-dx, 0) : max(-dx, 0) + ow]
    pa, pb = pa - pa.mean(), pb - pb.mean()
    denominator = float(np.sqrt((pa * pa).sum() * (pb * pb).sum()))
    if denominator <= 0:
        return None
    return Registration(float(dx), float(dy), float((pa * pb).sum()) / denominator, overlap)


def cut_by_edge(cell: Cell, width: int, height: int, margin: float = EDGE_MARGIN_PX) -> bool:
    """Whether the cell's box touches the edge of a `width` x `height` field."""
    return box_cut_by_edge(cell.box.as_tuple(), width, height, margin)


def box_cut_by_edge(
    box: tuple[float, float, float, float],
    width: int,
    height: int,
    margin: float = EDGE_MARGIN_PX,
) -> bool:
    """`cut_by_edge` for a box (x1, y1, x2, y2) in the field's pixels."""
    x1, y1, x2, y2 = box
    return x1 <= margin or y1 <= margin or x2 >= width - margin or y2 >= height - margin


def _wbc(field: Field, *, counted_only: bool = False) -> list[Cell]:
    return [
        c
        for c in field.cells
        if c.kind is CellKind.WBC and not (counted_only and c.uncounted == UNCOUNTED_EDGE)
    ]


def _tolerance(cells: Iterable[Cell]) -> float:
    sizes = [max(c.box.width, c.box.height) for c in cells]
    return max(6.0, 0.4 * float(np.median(sizes))) if sizes else 6.0


def _matches(
    new: Sequence[Cell], old: Sequence[Cell], dx: float, dy: float, tol: float
) -> dict[str, tuple[float, float]]:
    """New cell id -> displacement to the nearest earlier cell within `tol`."""
    found: dict[str, tuple[float, float]] = {}
    if not old:
        return found
    centres = np.array([c.box.centre for c in old])
    for cell in new:
        x, y = cell.box.centre
        d = np.hypot(centres[:, 0] - (x + dx), centres[:, 1] - (y + dy))
        i = int(d.argmin())
        if d[i] <= tol:
            found[cell.id] = (float(centres[i, 0] - x), float(centres[i, 1] - y))
    return found


def repeats(new: Field, earlier: Field, shift: Registration) -> set[str] | None:
    """Ids of the new field's white cells counted (or already counted) in `earlier`,
    the fields registered by `shift`; None when the cells do not confirm the shift."""
    new_cells, old_cells = _wbc(new), _wbc(earlier, counted_only=True)
    tol = _tolerance([*new_cells, *old_cells])
    found = _matches(new_cells, old_cells, shift.dx, shift.dy, tol)
    if found:  # refine the shift on the cells themselves
        dx = float(np.median([d[0] for d in found.values()]))
        dy = float(np.median([d[1] for d in found.values()]))
        found = _matches(new_cells, old_cells, dx, dy, tol)
    else:
        dx, dy = shift.dx, shift.dy
    inside = [
        c
        for c in old_cells
        if tol <= c.box.centre[0] - dx <= new.width - tol
        and tol <= c.box.centre[1] - dy <= new.height - tol
    ]
    if inside and len(found) < MIN_CELL_AGREEMENT * len(inside):
        return None
    return set(found)


def mark_field(
    new: Field, new_thumb: Thumbnail, earlier: Iterable[tuple[Field, Thumbnail]]
) -> Field:
    """`new` with its white cells seen in an earlier field marked `UNCOUNTED_REPEAT` and
    those cut by its edge `UNCOUNTED_EDGE` (cells marked already keep their mark)."""
    seen: set[str] = set()
    for old, thumb in earlier:
        shift = register(thumb, new_thumb)
        if shift is not None:
            seen |= repeats(new, old, shift) or set()
    cells = []
    for cell in new.cells:
        mark = cell.uncounted
        if not mark and cell.kind is CellKind.WBC and not cell.manual:
            if cell.id in seen:
                mark = UNCOUNTED_REPEAT
            elif cut_by_edge(cell, new.width, new.height):
                mark = UNCOUNTED_EDGE
        cells.append(cell if mark == cell.uncounted else replace(cell, uncounted=mark))
    return replace(new, cells=tuple(cells))
