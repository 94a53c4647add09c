"""Optical-density renderers for the synthetic smear: shared shapes, red cells, platelets.

A stained smear is drawn the way light goes through it (Beer-Lambert): every object adds
an optical density (OD) per colour channel, overlapping objects add up, and the image is
``I = I0 * exp(-OD)`` (see `smear_synth`). Each renderer returns a small `Patch` of OD
around one cell; the caller adds it into the big canvas. Channels are in BGR order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]

HAEMOGLOBIN_OD = (0.16, 0.27, 0.17)
"""OD per unit thickness of an eosin-stained red cell (absorbs green most: pink)."""
PLATELET_OD = (0.12, 0.75, 0.48)
"""Azure-stained platelet: absorbs green and red, hardly blue (violet-blue)."""
PLATELET_GRANULE_OD = (0.25, 0.55, 0.35)


@dataclass(frozen=True)
class Patch:
    """Optical density ``(h, w, 3)`` whose top-left pixel lies at canvas column x, row y."""

    od: F32
    x: int
    y: int


@dataclass(frozen=True)
class Grid:
    """Pixel-centre offsets from a cell centre over a square patch."""

    dx: F32
    dy: F32
    x: int
    y: int

    @property
    def size(self) -> int:
        return int(self.dx.shape[0])

    def centre(self) -> tuple[float, float]:
        """The cell centre in patch pixel coordinates (as cv2 drawing functions expect)."""
        return float(-self.dx[0, 0] - 0.5), float(-self.dy[0, 0] - 0.5)


def local_grid(cx: float, cy: float, radius: float) -> Grid:
    half = math.ceil(radius) + 4
    x0, y0 = math.floor(cx) - half, math.floor(cy) - half
    size = 2 * half + 1
    xs = np.arange(size, dtype=np.float32) + np.float32(x0 + 0.5 - cx)
    ys = np.arange(size, dtype=np.float32) + np.float32(y0 + 0.5 - cy)
    dx, dy = np.meshgrid(xs, ys)
    return Grid(dx, dy, x0, y0)


def smooth_noise(shape: tuple[int, int], sigma: float, rng: np.random.Generator) -> F32:
    """Gaussian noise low-passed with `sigma` pixels, rescaled to unit standard deviation."""
    noise = rng.standard_normal(shape, dtype=np.float32)
    if sigma > 0:
        noise = np.asarray(cv2.GaussianBlur(noise, (0, 0), sigma), dtype=np.float32)
    std = float(noise.std())
    return noise / np.float32(std if std > 0 else 1.0)


def body(
    grid: Grid,
    radius: float,
    rng: np.random.Generator,
    *,
    aspect: float = 1.0,
    wobble: float = 0.03,
    edge: float = 1.0,
) -> tuple[F32, F32]:
    """A slightly irregular ellipse: (coverage 0..1 with an anti-aliased edge, rho).

    ``rho`` is the distance from the centre relative to the outline (1 on the edge)."""
    angle = rng.uniform(0, math.pi)
    c, s = math.cos(angle), math.sin(angle)
    u = grid.dx * np.float32(c) + grid.dy * np.float32(s)
    v = (grid.dy * np.float32(c) - grid.dx * np.float32(s)) / np.float32(aspect)
    r = np.hypot(u, v)
    theta = np.arctan2(v, u)
    outline = np.ones_like(r)
    for k in (2, 3, 4, 5):
        outline += np.float32(rng.uniform(0, wobble) / k * 2) * np.cos(
            k * theta + np.float32(rng.uniform(0, 2 * math.pi))
        )
    rho = r / (np.float32(radius) * outline)
    coverage = np.clip((1.0 - rho) * np.float32(radius / edge) + 0.5, 0.0, 1.0)
    return coverage.astype(np.float32), rho.astype(np.float32)


def tinted(base: tuple[float, float, float], rng: np.random.Generator, spread: float) -> F32:
    """A colour (OD per channel) varied in strength and a little in hue."""
    strength = rng.uniform(1 - spread, 1 + spread)
    hue = rng.uniform(1 - spread / 2, 1 + spread / 2, size=3)
    return (np.asarray(base, dtype=np.float32) * np.float32(strength) * hue).astype(np.float32)


def paint(layer: F32, colour: F32) -> F32:
    """Spread a one-channel amount into three OD channels."""
    return layer[:, :, np.newaxis] * colour[np.newaxis, np.newaxis, :]


def red_cell(cx: float, cy: float, radius: float, rng: np.random.Generator) -> Patch:
    """A biconcave red cell: a flat disc, darker rim, pale centre, soft mottling."""
    grid = local_grid(cx, cy, radius * 1.1)
    coverage, rho = body(
        grid, radius, rng, aspect=rng.uniform(0.86, 1.0), wobble=rng.uniform(0.01, 0.05)
    )
    pallor = np.float32(rng.uniform(0.55, 0.85))
    pallor_size = np.float32(rng.uniform(0.42, 0.58))
    rim = np.float32(rng.uniform(0.4, 0.7))
    profile = (
        1.0
        - pallor * np.exp(-((rho / pallor_size) ** 2))
        + rim * np.exp(-(((rho - 0.84) / 0.12) ** 2))
    )
    mottle = 1.0 + 0.05 * smooth_noise((grid.size, grid.size), 2.5, rng)
    thickness = coverage * profile * mottle
    return Patch(paint(thickness, tinted(HAEMOGLOBIN_OD, rng, 0.12)), grid.x, grid.y)


def dots(
    size: int,
    centre: tuple[float, float],
    radius: float,
    count: int,
    dot_radius: tuple[float, float],
    rng: np.random.Generator,
) -> F32:
    """`count` small anti-aliased round dots scattered in a disc; amount 0..1."""
    canvas = np.zeros((size, size), np.uint8)
    r = radius * np.sqrt(rng.uniform(0, 1, count))
    a = rng.uniform(0, 2 * math.pi, count)
    xs, ys = centre[0] + r * np.cos(a), centre[1] + r * np.sin(a)
    radii = rng.uniform(dot_radius[0], dot_radius[1], count)
    for x, y, d in zip(xs, ys, radii, strict=True):
        cv2.circle(
            canvas,
            (round(x * 16), round(y * 16)),
            round(d * 16),
            255,
            -1,
            cv2.LINE_AA,
            shift=4,
        )
    return canvas.astype(np.float32) * np.float32(1 / 255)


def platelet(cx: float, cy: float, radius: float, rng: np.random.Generator) -> Patch:
    """A small irregular violet platelet: a soft blob, denser and granular in the middle."""
    grid = local_grid(cx, cy, radius * 1.3)
    coverage, rho = body(
        grid, radius, rng, aspect=rng.uniform(0.7, 1.0), wobble=0.2, edge=rng.uniform(1.5, 2.5)
    )
    granules = dots(
        grid.size,
        grid.centre(),
        radius * 0.6,
        int(rng.integers(4, 10)),
        (1.0, 2.0),
        rng,
    )
    density = coverage * (0.5 + 0.5 * np.clip(1.1 - rho, 0.0, 1.0))
    od = paint(density, tinted(PLATELET_OD, rng, 0.2))
    od += paint(coverage * granules, tinted(PLATELET_GRANULE_OD, rng, 0.2))
    return Patch(od, grid.x, grid.y)
