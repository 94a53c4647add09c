"""Turn the detector's heat-map outputs into boxes, and non-maximum suppression."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]


def decode(
    heat: F32, size: F32, offset: F32, stride: int, threshold: float, max_per_class: int = 2000
) -> tuple[F32, npt.NDArray[np.int64], F32]:
    """Peaks above ``threshold`` to boxes in network-input pixels.

    ``heat`` is (C, H, W) with non-peaks already zeroed by the graph; ``size`` (2, H, W)
    holds box width and height in input pixels; ``offset`` (2, H, W) the centre's
    sub-cell position. Returns boxes (N, 4) x1 y1 x2 y2, classes (N,), scores (N,).
    """
    cls, ys, xs = np.nonzero(heat > threshold)
    scores = heat[cls, ys, xs].astype(np.float32)
    if len(scores) > max_per_class * heat.shape[0]:
        keep = np.argsort(-scores)[: max_per_class * heat.shape[0]]
        cls, ys, xs, scores = cls[keep], ys[keep], xs[keep], scores[keep]
    cx = (xs + offset[0, ys, xs]) * stride
    cy = (ys + offset[1, ys, xs]) * stride
    w, h = size[0, ys, xs], size[1, ys, xs]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)
    return boxes, cls.astype(np.int64), scores


def box_iou(a: F32, b: F32) -> F32:
    """Pairwise IoU of (N, 4) and (M, 4) boxes."""
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    out: F32 = np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0).astype(np.float32)
    return out


def nms(boxes: F32, scores: F32, iou_threshold: float) -> npt.NDArray[np.int64]:
    """Indices kept by greedy non-maximum suppression, highest score first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        if order.size == 1:
            break
        ious = box_iou(boxes[i : i + 1], boxes[order[1:]])[0]
        order = order[1:][ious <= iou_threshold]
    return np.array(keep, dtype=np.int64)


def batched_nms(
    boxes: F32, classes: npt.NDArray[np.int64], scores: F32, iou_threshold: float
) -> npt.NDArray[np.int64]:
    """Class-wise NMS; returned indices are sorted by descending score."""
    keep = [
        np.flatnonzero(classes == c)[nms(boxes[classes == c], scores[classes == c], iou_threshold)]
        for c in np.unique(classes)
    ]
    if not keep:
        return np.zeros(0, dtype=np.int64)
    idx = np.concatenate(keep)
    return idx[np.argsort(-scores[idx], kind="stable")]


def postprocess(
    heat: F32,
    size: F32,
    offset: F32,
    stride: int,
    inverse_scale: float,
    threshold: float,
    nms_iou: float,
    clip_to: tuple[int, int] | None = None,
) -> tuple[F32, npt.NDArray[np.int64], F32]:
    """Decode, suppress duplicates and map to original pixels (x / scale).

    ``clip_to`` is the original (width, height) to clip boxes to.
    """
    boxes, classes, scores = decode(heat, size, offset, stride, threshold)
    keep = batched_nms(boxes, classes, scores, nms_iou)
    boxes, classes, scores = boxes[keep] * np.float32(inverse_scale), classes[keep], scores[keep]
    if clip_to is not None:
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, clip_to[0])
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, clip_to[1])
    return boxes, classes, scores
