"""Detection at a known cell size: wide fields analysed in tiles at the trained scale.

The detector letterboxes a whole frame to its input (320 px on the long side), so it sees
cells at the size it was trained on (red cells ~50 input px) only when the frame is about
as wide, in cells, as its training fields (6-8 red cells across). A camera with a wider
field of view (20 or more red cells across) makes the cells too small to be found at all,
and the detector's own re-run in tiles, which starts from the cells it found, never starts.

When the laboratory gives the typical red-cell diameter of its images (a calibration of
the microscope and camera, set once, like the cell diameter of cellpose), the frame is cut
into overlapping tiles that the detector letterboxes to exactly that scale. Boxes cut by an
inner tile edge are dropped (the neighbouring tile sees the cell whole) and duplicates in
the overlaps are merged by non-maximum suppression.
"""

from __future__ import annotations

import logging
import math
from typing import Protocol

import numpy as np
import numpy.typing as npt

from hemoscope.vision.detector import RBC_TARGET_INPUT_PX, Detections
from hemoscope.vision.image_input import Channels
from hemoscope.vision.tiling import F32, I64, detect_in_tiles, tile_grid

__all__ = ["MAX_TILES", "detect_at_cell_size", "tile_scale"]

log = logging.getLogger(__name__)

MAX_TILES = 256
"""At most this many tiles per frame (the scale is lowered to fit, with a warning)."""
MIN_ZOOM = 1.25
"""Tiles are used only when they enlarge the cells at least this much over one pass."""


class ScalableDetector(Protocol):
    names: tuple[str, ...]
    long_side: int
    nms_iou: float

    def detect(self, image: npt.NDArray[np.generic], channels: Channels = "bgr") -> Detections: ...


def tile_scale(width: int, height: int, long_side: int, rbc_diameter: float) -> float | None:
    """Input pixels per frame pixel for the tiles, or ``None`` when one pass is right."""
    if not (math.isfinite(rbc_diameter) and rbc_diameter > 0):
        raise ValueError(f"the red-cell diameter must be > 0 pixels, got {rbc_diameter}")
    whole = long_side / max(width, height)
    scale = RBC_TARGET_INPUT_PX / rbc_diameter
    return scale if scale >= MIN_ZOOM * whole else None


def detect_at_cell_size(
    detector: ScalableDetector, rgb: npt.NDArray[np.uint8], rbc_diameter: float
) -> Detections:
    """Detections in an RGB frame whose red cells are ``rbc_diameter`` pixels across."""
    h, w = rgb.shape[:2]
    scale = tile_scale(w, h, detector.long_side, rbc_diameter)
    if scale is None:
        return detector.detect(rgb, "rgb")
    tile = detector.long_side / scale
    nx, ny = tile_grid(w, h, tile)
    if nx * ny > MAX_TILES:
        factor = math.sqrt(nx * ny / MAX_TILES)
        log.warning(
            "%dx%d frame with %.0f px red cells needs %d tiles; using %d at a %.1fx smaller "
            "scale", w, h, rbc_diameter, nx * ny, MAX_TILES, factor,
        )  # fmt: skip
        return detect_at_cell_size(detector, rgb, rbc_diameter * factor * 1.01)
    inner_tiles = 0

    def run(tile_rgb: npt.NDArray[np.uint8]) -> tuple[F32, I64, F32]:
        nonlocal inner_tiles
        d = detector.detect(tile_rgb, "rgb")
        inner_tiles += d.tiles
        return d.boxes, d.classes, d.scores

    boxes, classes, scores, n = detect_in_tiles(rgb, tile, run, detector.nms_iou)
    log.debug("%d tiles of %.0f px at scale %.3f: %d cells", n, tile, scale, len(scores))
    return Detections(boxes, classes, scores, detector.names, tiles=inner_tiles)
