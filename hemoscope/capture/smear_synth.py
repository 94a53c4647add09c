"""A large synthetic stained blood smear, seamlessly tileable, for the simulated microscope.

`synthesize_smear` lays out cells on a torus (a cell over the right edge continues on the
left), so a view can pan forever: white cells first (about one per 640 x 480 field),
then red cells by random sequential placement (touching and a few overlapping, denser in
some regions than others), then platelets in the gaps and now and then in small clumps.
Every cell adds optical density (`smear_cells`, `smear_wbc`); the image is
``I = I0 * exp(-OD)`` through a lookup table, softened by a slight optical blur.

The result depends only on (width, height, seed, rbc_diameter); it is cached in memory
(the default 4096 x 3072 canvas takes a second or two and 38 MB) and read-only.
"""

from __future__ import annotations

import functools
import logging
import math
import time

import cv2
import numpy as np
import numpy.typing as npt

from hemoscope.capture.smear_cells import F32, Patch, platelet, red_cell
from hemoscope.capture.smear_wbc import WBC_KINDS

log = logging.getLogger(__name__)

U8Image = npt.NDArray[np.uint8]

DEFAULT_CANVAS = (4096, 3072)
ILLUMINATION = (244.0, 243.0, 246.0)  # BGR light through an empty slide
BACKGROUND_OD = (0.14, 0.108, 0.058)  # plasma and stain on the glass: pale pink-beige
OD_SCALE = 1000.0  # OD is accumulated as uint16 thousandths
RBC_COVERAGE = 0.5  # mean fraction of the area under red cells
FIELD_AREA = 640 * 480
WBC_PER_FIELD = 0.8


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
    rng = np.random.default_rng(seed)
    od = np.zeros((height, width, 3), np.uint16)
    _add_background(od, rng)
    radius = rbc_diameter / 2
    wbcs = _place_white_cells(width, height, radius, rng)
    rbcs = _place_red_cells(width, height, radius, wbcs, rng)
    platelets = _place_platelets(width, height, radius, rng)
    for x, y, _ in wbcs:
        weights = np.array([w for w, _ in WBC_KINDS.values()])
        kind = list(WBC_KINDS)[int(rng.choice(len(weights), p=weights / weights.sum()))]
        _add_patch(od, WBC_KINDS[kind][1](x, y, radius, rng))
    for x, y, r in rbcs:
        _add_patch(od, red_cell(x, y, r, rng))
    for x, y, r in platelets:
        _add_patch(od, platelet(x, y, r, rng))
    image = _to_image(od)
    image.flags.writeable = False
    log.info(
        "synthesised a %d x %d smear (seed %d): %d red cells, %d white cells, %d platelets "
        "in %.1f s",
        width,
        height,
        seed,
        len(rbcs),
        len(wbcs),
        len(platelets),
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


def _place_white_cells(
    width: int, height: int, radius: float, rng: np.random.Generator
) -> list[tuple[float, float, float]]:
    count = max(1, round(width * height / FIELD_AREA * WBC_PER_FIELD))
    placed: list[tuple[float, float, float]] = []
    spacing = radius * 6
    for _ in range(count * 30):
        if len(placed) == count:
            break
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        if all(_wrapped_distance(x, y, p, width, height) > spacing for p in placed):
            placed.append((x, y, radius * 2.3))
    return placed


def _wrapped_distance(
    x: float, y: float, other: tuple[float, float, float], width: int, height: int
) -> float:
    dx = abs(x - other[0])
    dy = abs(y - other[1])
    return math.hypot(min(dx, width - dx), min(dy, height - dy))


def _place_red_cells(
    width: int,
    height: int,
    radius: float,
    wbcs: list[tuple[float, float, float]],
    rng: np.random.Generator,
) -> list[tuple[float, float, float]]:
    """Random sequential placement on the torus; a few cells may overlap a neighbour."""
    density = _low_frequency(height // 8, width // 8, 48, rng)[:, :, 0]
    accept = np.clip(0.75 + 0.35 * density, 0.25, 1.0)
    target = RBC_COVERAGE * width * height / (math.pi * radius**2)
    cell = 2 * radius
    cols, rows = max(1, int(width // cell)), max(1, int(height // cell))
    grid: dict[tuple[int, int], list[tuple[float, float, float]]] = {}
    for wx, wy, wr in wbcs:
        grid.setdefault((int(wx / width * cols) % cols, int(wy / height * rows) % rows), []).append(
            (wx, wy, wr)
        )
    placed: list[tuple[float, float, float]] = []
    tries = 0
    while len(placed) < target and tries < target * 40:
        tries += 1
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        if (
            rng.uniform()
            > accept[min(int(y / 8), accept.shape[0] - 1), min(int(x / 8), accept.shape[1] - 1)]
        ):
            continue
        r = radius * float(np.clip(rng.normal(1.0, 0.06), 0.8, 1.2))
        overlap = 0.55 if rng.uniform() < 0.05 else 0.92
        gx, gy = int(x / width * cols) % cols, int(y / height * rows) % rows
        near = (
            p
            for i in range(-2, 3)
            for j in range(-2, 3)
            for p in grid.get(((gx + i) % cols, (gy + j) % rows), ())
        )
        if all(_wrapped_distance(x, y, p, width, height) > overlap * (r + p[2]) for p in near):
            placed.append((x, y, r))
            grid.setdefault((gx, gy), []).append((x, y, r))
    return placed


def _place_platelets(
    width: int, height: int, radius: float, rng: np.random.Generator
) -> list[tuple[float, float, float]]:
    count = round(width * height * RBC_COVERAGE / (math.pi * radius**2) / 12)
    placed: list[tuple[float, float, float]] = []
    while len(placed) < count:
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        clump = int(rng.choice([1, 1, 1, 1, 1, 1, 2, 3, 5]))
        for _ in range(clump):
            jitter = rng.normal(0, radius * 0.35, 2) if clump > 1 else (0.0, 0.0)
            size = radius * rng.uniform(0.25, 0.4)
            placed.append(((x + jitter[0]) % width, (y + jitter[1]) % height, size))
    return placed


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
    return np.asarray(cv2.GaussianBlur(image, (0, 0), 1.0), dtype=np.uint8)
