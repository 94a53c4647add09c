"""Field images with YOLO boxes (``images/<split>``, ``labels/<split>``) for the detector."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hemoscope.vision.datasets import image_files, load_rgb, read_yolo_labels
from hemoscope.vision.letterbox import PAD_VALUE

log = logging.getLogger(__name__)


@dataclass
class FieldSample:
    path: Path
    image: np.ndarray  # RGB uint8
    boxes: np.ndarray  # (N, 4) float32 x1 y1 x2 y2, pixels
    classes: np.ndarray  # (N,) int64


def load_split(root: Path, split: str, num_classes: int = 3, limit: int = 0) -> list[FieldSample]:
    img_dir = root / "images" / split
    if not img_dir.is_dir():
        raise FileNotFoundError(
            f"{img_dir} not found (expected YOLO layout images/{split}, labels/{split})"
        )
    files = image_files(img_dir)
    if limit:
        files = files[:limit]
    out = []
    for p in files:
        img = load_rgb(p)
        h, w = img.shape[:2]
        boxes, classes = read_yolo_labels(
            root / "labels" / split / (p.stem + ".txt"), w, h, num_classes
        )
        out.append(FieldSample(p, img, boxes, classes))
    log.info("loaded %d %s images from %s", len(out), split, root)
    return out


def random_view(
    s: FieldSample,
    rng: np.random.Generator,
    canvas: int,
    long_side: int,
    scale_range: tuple[float, float],
    min_visible: float = 0.25,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A training view: rescale as if at another magnification, crop/pad, rotate, flip.

    A box cut by the view's edge is kept (clipped) when at least ``min_visible`` of its
    area is inside, as the datasets label cells cut by the image's edge; below that it
    is dropped."""
    h, w = s.image.shape[:2]
    scale = (
        long_side
        / max(h, w)
        * math.exp(rng.uniform(math.log(scale_range[0]), math.log(scale_range[1])))
    )
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    img = cv2.resize(
        s.image, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    )
    boxes = s.boxes * np.float32(scale)
    # Place a canvas-sized window: random crop where larger, random offset where smaller.
    ox = rng.integers(0, nw - canvas + 1) if nw > canvas else -rng.integers(0, canvas - nw + 1)
    oy = rng.integers(0, nh - canvas + 1) if nh > canvas else -rng.integers(0, canvas - nh + 1)
    out = np.full((canvas, canvas, 3), PAD_VALUE, np.uint8)
    sx0, sy0 = max(ox, 0), max(oy, 0)
    sx1, sy1 = min(ox + canvas, nw), min(oy + canvas, nh)
    out[sy0 - oy : sy1 - oy, sx0 - ox : sx1 - ox] = img[sy0:sy1, sx0:sx1]
    b = boxes - np.array([ox, oy, ox, oy], np.float32)
    clipped = b.copy()
    clipped[:, [0, 2]] = clipped[:, [0, 2]].clip(0, canvas)
    clipped[:, [1, 3]] = clipped[:, [1, 3]].clip(0, canvas)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    carea = (clipped[:, 2] - clipped[:, 0]).clip(0) * (clipped[:, 3] - clipped[:, 1]).clip(0)
    keep = (
        (carea >= min_visible * np.maximum(area, 1e-6))
        & ((clipped[:, 2] - clipped[:, 0]) >= 2)
        & ((clipped[:, 3] - clipped[:, 1]) >= 2)
    )
    b, cls = clipped[keep], s.classes[keep]
    k = int(rng.integers(0, 4))
    for _ in range(k):  # rotate 90 degrees counter-clockwise: (x, y) -> (y, canvas - x)
        out = np.rot90(out)
        b = np.stack([b[:, 1], canvas - b[:, 2], b[:, 3], canvas - b[:, 0]], axis=1)
    if rng.random() < 0.5:
        out = out[:, ::-1]
        b = np.stack([canvas - b[:, 2], b[:, 1], canvas - b[:, 0], b[:, 3]], axis=1)
    return np.ascontiguousarray(out), b.astype(np.float32).reshape(-1, 4), cls


def gaussian_radius(h: float, w: float, min_overlap: float = 0.7) -> float:
    """CenterNet's radius within which a shifted box still overlaps by ``min_overlap``."""
    a1, b1, c1 = 1, h + w, w * h * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1**2 - 4 * a1 * c1)) / 2
    a2, b2, c2 = 4, 2 * (h + w), (1 - min_overlap) * w * h
    r2 = (b2 + math.sqrt(b2**2 - 4 * a2 * c2)) / 2
    a3, b3, c3 = 4 * min_overlap, -2 * min_overlap * (h + w), (min_overlap - 1) * w * h
    r3 = (b3 + math.sqrt(b3**2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def make_targets(
    boxes: np.ndarray, classes: np.ndarray, out_h: int, out_w: int, stride: int, num_classes: int
) -> dict[str, np.ndarray]:
    """Heat maps (C, H, W), and at each object centre: log size, offset and a mask."""
    heat = np.zeros((num_classes, out_h, out_w), np.float32)
    size = np.zeros((2, out_h, out_w), np.float32)
    offset = np.zeros((2, out_h, out_w), np.float32)
    mask = np.zeros((out_h, out_w), np.float32)
    ys, xs = np.mgrid[0:out_h, 0:out_w]
    # Smaller boxes last, so an overlapping big cell never overwrites a platelet's centre.
    order = np.argsort(-((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))
    for i in order:
        x1, y1, x2, y2 = boxes[i] / stride
        w, h = x2 - x1, y2 - y1
        if w <= 0 or h <= 0:
            continue
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        ix, iy = min(int(cx), out_w - 1), min(int(cy), out_h - 1)
        r = max(0.0, gaussian_radius(h, w))
        sigma = max((2 * r + 1) / 6, 0.5)
        g = np.exp(-((xs - ix) ** 2 + (ys - iy) ** 2) / (2 * sigma**2)).astype(np.float32)
        c = int(classes[i])
        np.maximum(heat[c], g, out=heat[c])
        size[:, iy, ix] = np.log([w * stride, h * stride])
        offset[:, iy, ix] = (cx - ix, cy - iy)
        mask[iy, ix] = 1.0
    return {"heat": heat, "size": size, "offset": offset, "mask": mask}
