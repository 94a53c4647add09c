"""Detection over overlapping tiles, merged back into one frame's boxes."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from hemoscope.vision.detector_decode import batched_nms

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
TileResult = tuple[F32, I64, F32]

OVERLAP = 0.25
"""Fraction of a tile shared with its neighbour (more than the largest cell's share)."""


def tile_grid(width: int, height: int, tile: float, overlap: float = OVERLAP) -> tuple[int, int]:
    """Number of tiles across and down for tiles of ``tile`` pixels."""
    step = tile * (1 - overlap)
    nx = max(1, math.ceil((width - tile * overlap) / step))
    ny = max(1, math.ceil((height - tile * overlap) / step))
    return nx, ny


def detect_in_tiles(
    image: npt.NDArray[np.uint8],
    tile: float,
    run: Callable[[npt.NDArray[np.uint8]], TileResult],
    nms_iou: float,
    overlap: float = OVERLAP,
) -> tuple[F32, I64, F32, int]:
    """Run ``run`` on each tile; keep boxes not cut by an inner tile edge; merge by NMS.

    ``run`` returns boxes in the tile's pixels. A cell cut by an inner edge is dropped
    there because the neighbouring tile, which overlaps by more than a cell, sees it
    whole. Returns boxes (frame pixels), classes, scores and the number of tiles.
    """
    h, w = image.shape[:2]
    nx, ny = tile_grid(w, h, tile, overlap)
    step = tile * (1 - overlap)
    all_b, all_c, all_s = [], [], []
    for iy in range(ny):
        for ix in range(nx):
            x0 = int(min(ix * step, max(w - tile, 0)))
            y0 = int(min(iy * step, max(h - tile, 0)))
            x1, y1 = int(min(x0 + tile, w)), int(min(y0 + tile, h))
            b, c, s = run(np.ascontiguousarray(image[y0:y1, x0:x1]))
            b = np.asarray(b, np.float32).reshape(-1, 4)
            keep = np.ones(len(b), dtype=bool)
            if x0 > 0:
                keep &= b[:, 0] > 1
            if y0 > 0:
                keep &= b[:, 1] > 1
            if x1 < w:
                keep &= b[:, 2] < (x1 - x0) - 1
            if y1 < h:
                keep &= b[:, 3] < (y1 - y0) - 1
            all_b.append(b[keep] + np.array([x0, y0, x0, y0], np.float32))
            all_c.append(np.asarray(c, np.int64)[keep])
            all_s.append(np.asarray(s, np.float32)[keep])
    boxes = np.concatenate(all_b).astype(np.float32)
    classes = np.concatenate(all_c).astype(np.int64)
    scores = np.concatenate(all_s).astype(np.float32)
    order = batched_nms(boxes, classes, scores, nms_iou)
    return boxes[order], classes[order], scores[order], nx * ny
