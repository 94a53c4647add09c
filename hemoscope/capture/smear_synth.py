"""A large synthetic stained blood smear, seamlessly tileable, for the simulated microscope.

`synthesize_smear` draws the cells of `smear_layout` (on a torus, so the image tiles and a
view can pan forever) over an unevenly stained background. Every cell adds optical
density (`smear_cells`, `smear_wbc`); the image is ``I = I0 * exp(-OD)`` through a lookup
table, softened by a slight optical blur.

The result depends only on (width, height, seed, rbc_diameter); it is cached in memory
(the default 4096 x 3072 canvas takes a second or two and 38 MB) and read-only.
"""

from __future__ import annotations

import collections
import functools
import logging
import time

import cv2
import numpy as np
import numpy.typing as npt

from hemoscope.capture.smear_cells import F32, Patch, platelet, red_cell
from hemoscope.capture.smear_layout import smear_layout
from hemoscope.capture.smear_wbc import WBC_KINDS

log = logging.getLogger(__name__)

U8Image = npt.NDArray[np.uint8]

DEFAULT_CANVAS = (4096, 3072)
ILLUMINATION = (232.0, 248.0, 255.0)  # BGR light through an empty slide (warm white)
BACKGROUND_OD = (0.124, 0.097, 0.028)  # plasma and stain on the glass: pale beige-pink
OD_SCALE = 1000.0  # OD is accumulated as uint16 thousandths


@functools.lru_cache(maxsize=2)
def synthesize_smear(
    width: int = DEFAULT_CANVAS[0],
    height: int = DEFAULT_CANVAS[1],
    seed: int = 0,
    rbc_diameter: float = 80.0,
) -> U8Image:
    """A tileable ``(height, width, 3)`` BGR smear image (read-only, cached)."""
    if width < 64 or height < 64:
        raise ValueError(f"canvas {width} x {height} is too small (64 x 64 at least)")
    start = time.perf_counter()
    cells = smear_layout(width, height, seed, rbc_diameter)
    rng = np.random.default_rng([seed, 1])
    od = np.zeros((height, width, 3), np.uint16)
    _add_background(od, rng)
    for cell in cells:
        if cell.kind == "rbc":
            patch = red_cell(cell.x, cell.y, cell.radius, rng)
        elif cell.kind == "platelet":
            patch = platelet(cell.x, cell.y, cell.radius, rng)
        else:
            patch = WBC_KINDS[cell.kind][2](cell.x, cell.y, cell.radius, rng)
        _add_patch(od, patch)
    image = _to_image(od)
    image.flags.writeable = False
    kinds = collections.Counter("wbc" if cell.is_wbc else cell.kind for cell in cells)
    log.info(
        "synthesised a %d x %d smear (seed %d): %d red cells, %d white cells, %d platelets "
        "in %.1f s",
        width,
        height,
        seed,
        kinds["rbc"],
        kinds["wbc"],
        kinds["platelet"],
        time.perf_counter() - start,
    )
    return image


def _low_frequency(
    height: int, width: int, cell: int, rng: np.random.Generator, channels: int = 1
) -> F32:
    """Smooth periodic noise (unit variance) varying over about `cell` pixels."""
    gh, gw = max(2, height // cell), max(2, width // cell)
    spectrum = np.fft.rfft2(rng.standard_normal((channels, gh, gw)), axes=(1, 2))
    fy = np.fft.fftfreq(gh)[:, None]
    fx = np.fft.rfftfreq(gw)[None, :]
    spectrum *= np.exp(-(fx**2 + fy**2) / (2 * 0.12**2))
    small = np.fft.irfft2(spectrum, s=(gh, gw), axes=(1, 2)).astype(np.float32)
    small /= np.float32(small.std() or 1.0)
    padded = np.pad(small, ((0, 0), (1, 1), (1, 1)), mode="wrap").transpose(1, 2, 0)
    scale_x, scale_y = width / gw, height / gh
    big = cv2.resize(
        padded,
        (round((gw + 2) * scale_x), round((gh + 2) * scale_y)),
        interpolation=cv2.INTER_CUBIC,
    )
    ox, oy = round(scale_x), round(scale_y)
    big = np.asarray(big, dtype=np.float32).reshape(big.shape[0], big.shape[1], channels)
    return big[oy : oy + height, ox : ox + width]


def _add_background(od: npt.NDArray[np.uint16], rng: np.random.Generator) -> None:
    """Uneven staining of the glass: the base tint, varying slowly by about 15 %."""
    height, width = od.shape[:2]
    vary = _low_frequency(max(2, height // 8), max(2, width // 8), 32, rng, channels=4)
    strength = 1 + 0.15 * vary[:, :, :1] + 0.04 * vary[:, :, 1:]  # mostly the same in B, G, R
    base = np.asarray(BACKGROUND_OD, np.float32) * np.float32(OD_SCALE)
    small = np.clip(base * strength, 0, 65535).astype(np.uint16)
    od += np.asarray(
        cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR), dtype=np.uint16
    )


def _add_patch(od: npt.NDArray[np.uint16], patch: Patch) -> None:
    """Add a patch of optical density into the canvas, wrapping round the edges."""
    height, width = od.shape[:2]
    values = np.clip(patch.od * np.float32(OD_SCALE) + 0.5, 0, 65535).astype(np.uint16)
    ph, pw = values.shape[:2]
    for rows, src_rows in _wrap_ranges(patch.y, ph, height):
        for cols, src_cols in _wrap_ranges(patch.x, pw, width):
            od[rows, cols] += values[src_rows, src_cols]


def _wrap_ranges(start: int, length: int, size: int) -> list[tuple[slice, slice]]:
    """Split ``[start, start + length)`` on a circle of `size` into (canvas, patch) slices."""
    pieces: list[tuple[slice, slice]] = []
    offset = 0
    position = start % size
    while offset < length:
        run = min(length - offset, size - position)
        pieces.append((slice(position, position + run), slice(offset, offset + run)))
        offset += run
        position = 0
    return pieces


def _to_image(od: npt.NDArray[np.uint16]) -> U8Image:
    levels = np.arange(65536, dtype=np.float64) / OD_SCALE
    image = np.empty(od.shape, np.uint8)
    for channel, light in enumerate(ILLUMINATION):
        lut = np.clip(np.round(light * np.exp(-levels)), 0, 255).astype(np.uint8)
        np.take(lut, od[:, :, channel], out=image[:, :, channel])
    # The optical blur wraps round the edges too, so that the image stays seamless.
    pad = 4
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_WRAP)
    blurred = cv2.GaussianBlur(padded, (0, 0), 1.0)
    return np.ascontiguousarray(blurred[pad:-pad, pad:-pad], dtype=np.uint8)
