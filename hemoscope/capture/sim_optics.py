"""The optics of the simulated microscope: cropping the view, vignette, dust, sensor noise."""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np
import numpy.typing as npt

from hemoscope.capture.source import Frame

log = logging.getLogger(__name__)

I8 = npt.NDArray[np.int8]
NOISE_BANK = 8
"""Frames of sensor noise prepared in advance; frame n uses n % NOISE_BANK."""
NOISE_MARGIN = 16
"""Extra rows and columns of noise, so that each frame can take it at another offset."""


def fold(value: float, span: int) -> int:
    """Bounce `value` between 0 and `span` (a triangle wave)."""
    if span <= 0:
        return 0
    m = value % (2 * span)
    return int(m if m <= span else 2 * span - m)


def crop(image: Frame, x: int, y: int, width: int, height: int, wrap: bool) -> Frame:
    """A copy of the view at (x, y); with `wrap`, the image continues round its edges."""
    rows, cols = image.shape[:2]
    if not wrap or (x + width <= cols and y + height <= rows):
        return image[y : y + height, x : x + width].copy()
    out = np.empty((height, width, 3), np.uint8)
    for dst_rows, src_rows in runs(y, height, rows):
        for dst_cols, src_cols in runs(x, width, cols):
            out[dst_rows, dst_cols] = image[src_rows, src_cols]
    return out


def runs(start: int, length: int, size: int) -> list[tuple[slice, slice]]:
    """Split ``[start, start + length)`` on a circle of `size`: (output, image) slices."""
    pieces: list[tuple[slice, slice]] = []
    done, position = 0, start % size
    while done < length:
        run = min(length - done, size - position)
        pieces.append((slice(done, done + run), slice(position, position + run)))
        done, position = done + run, 0
    return pieces


def cover(image: Frame, size: tuple[int, int]) -> Frame:
    """Scale a user image up, keeping its aspect ratio, until it covers one view."""
    scale = max(size[0] / image.shape[1], size[1] / image.shape[0])
    if scale <= 1:
        return image
    log.info("simulator image %s is smaller than a view; scaled by %.2f", image.shape, scale)
    new = (math.ceil(image.shape[1] * scale), math.ceil(image.shape[0] * scale))
    return np.asarray(cv2.resize(image, new, interpolation=cv2.INTER_CUBIC), dtype=np.uint8)


def vignette(size: tuple[int, int], depth: float, rng: np.random.Generator) -> Frame | None:
    """Fixed per-pixel gain (255 = 1.0): darker corners and a few dust specks on the sensor;
    None for `depth` 0 (a clean optical path)."""
    if depth <= 0:
        return None
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r2 = ((xx - width / 2) ** 2 + (yy - height / 2) ** 2) / ((width / 2) ** 2 + (height / 2) ** 2)
    gain = 1.0 - depth * r2
    for _ in range(int(rng.integers(3, 7))):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius, strength = rng.uniform(2.5, 6.0), rng.uniform(0.05, 0.14)
        gain *= 1.0 - strength * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * radius**2))
    gain8 = np.clip(np.round(gain * 255), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(gain8[:, :, None], 3, axis=2))


def noise_bank(size: tuple[int, int], sigma: float, rng: np.random.Generator) -> I8 | None:
    """A few frames of Gaussian sensor noise (int8), offset per frame so none repeats soon."""
    if sigma <= 0:
        return None
    shape = (NOISE_BANK, size[1] + NOISE_MARGIN, size[0] + NOISE_MARGIN, 3)
    noise = np.clip(np.round(rng.normal(0.0, sigma, shape)), -127, 127)
    return noise.astype(np.int8)
