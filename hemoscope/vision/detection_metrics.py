"""Detection metrics: COCO-style AP (101-point), mAP50, mAP50-95 and count errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from hemoscope.vision.detector_decode import box_iou

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
IOU_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
AP_SCORE_FLOOR = 0.001
"""Lowest score kept when AP is measured, so AP sees the whole precision-recall curve
(the confidence floor of COCO-style and Ultralytics validation)."""


@dataclass
class ImageResult:
    """Ground truth and predictions of one image (boxes x1 y1 x2 y2, any unit)."""

    gt_boxes: F32
    gt_classes: I64
    boxes: F32
    classes: I64
    scores: F32


def _match(img: ImageResult, cls: int, thr: float) -> tuple[F32, npt.NDArray[np.bool_], int]:
    """Scores and true-positive flags of class ``cls`` predictions in one image."""
    pm = img.classes == cls
    gm = img.gt_classes == cls
    scores, pboxes, gboxes = img.scores[pm], img.boxes[pm], img.gt_boxes[gm]
    order = np.argsort(-scores, kind="stable")
    scores, pboxes = scores[order], pboxes[order]
    tp = np.zeros(len(scores), dtype=bool)
    if len(gboxes) and len(pboxes):
        ious = box_iou(pboxes, gboxes)
        taken = np.zeros(len(gboxes), dtype=bool)
        for i in range(len(pboxes)):
            cand = np.where(taken, -1.0, ious[i])
            j = int(np.argmax(cand))
            if cand[j] >= thr:
                tp[i] = True
                taken[j] = True
    return scores, tp, int(gm.sum())


def average_precision(results: Sequence[ImageResult], cls: int, thr: float) -> float:
    """Area under the interpolated precision-recall curve sampled at 101 recalls.

    Returns NaN when the class has no ground truth (left out of means).
    """
    all_scores, all_tp, n_gt = [], [], 0
    for img in results:
        s, tp, n = _match(img, cls, thr)
        all_scores.append(s)
        all_tp.append(tp)
        n_gt += n
    if n_gt == 0:
        return float("nan")
    scores = np.concatenate(all_scores) if all_scores else np.zeros(0, np.float32)
    tps = np.concatenate(all_tp) if all_tp else np.zeros(0, bool)
    if len(scores) == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    tp_cum = np.cumsum(tps[order])
    fp_cum = np.cumsum(~tps[order])
    recall = tp_cum / n_gt
    precision = tp_cum / np.maximum(tp_cum + fp_cum, 1)
    # Precision envelope (monotone non-increasing), then sample at recall 0, 0.01, ..., 1.
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    points = np.linspace(0.0, 1.0, 101)
    idx = np.searchsorted(recall, points, side="left")
    sampled = np.where(idx < len(precision), precision[np.minimum(idx, len(precision) - 1)], 0.0)
    return float(sampled.mean())


def count_errors(results: Sequence[ImageResult], cls: int, threshold: float) -> list[int]:
    """Per image: predicted minus true number of class ``cls`` (scores >= threshold)."""
    return [
        int(((r.classes == cls) & (r.scores >= threshold)).sum()) - int((r.gt_classes == cls).sum())
        for r in results
    ]


def best_count_threshold(
    results: Sequence[ImageResult],
    cls: int,
    grid: Sequence[float] = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6),
) -> float:
    """The score threshold with the lowest mean absolute count error (ties: the lowest,
    which misses fewest cells). Chosen on validation data, never on test data."""
    scored = [(float(np.mean(np.abs(count_errors(results, cls, t)))), t) for t in grid]
    best = min(m for m, _ in scored)
    return min(t for m, t in scored if m <= best + 1e-12)


@dataclass
class DetectionReport:
    class_names: tuple[str, ...]
    ap50: dict[str, float]
    ap50_95: dict[str, float]
    map50: float
    map50_95: float
    count_mae: dict[str, float]
    exact_count_fraction: dict[str, float]
    images: int
    extra: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "images": self.images,
            "map50": round(self.map50, 4),
            "map50_95": round(self.map50_95, 4),
            "ap50": {k: round(v, 4) for k, v in self.ap50.items()},
            "ap50_95": {k: round(v, 4) for k, v in self.ap50_95.items()},
            "count_mae": {k: round(v, 4) for k, v in self.count_mae.items()},
            "exact_count_fraction": {k: round(v, 4) for k, v in self.exact_count_fraction.items()},
            **{k: round(v, 4) for k, v in self.extra.items()},
        }


def evaluate(
    results: Sequence[ImageResult],
    class_names: Sequence[str],
    count_threshold: float | Sequence[float],
) -> DetectionReport:
    """AP per class and count errors (predictions with score >= ``count_threshold``,
    one value for all classes or one per class)."""
    names = tuple(class_names)
    ap50: dict[str, float] = {}
    ap5095: dict[str, float] = {}
    for c, name in enumerate(names):
        aps = [average_precision(results, c, t) for t in IOU_THRESHOLDS]
        ap50[name] = aps[0]
        ap5095[name] = float(np.mean(aps))
    mae: dict[str, float] = {}
    exact: dict[str, float] = {}
    thresholds = (
        [float(count_threshold)] * len(names)
        if isinstance(count_threshold, int | float)
        else [float(t) for t in count_threshold]
    )
    for c, name in enumerate(names):
        errors = count_errors(results, c, thresholds[c])
        mae[name] = float(np.mean(np.abs(errors))) if errors else 0.0
        exact[name] = float(np.mean([e == 0 for e in errors])) if errors else 0.0
    valid50 = [v for v in ap50.values() if not np.isnan(v)]
    valid5095 = [v for v in ap5095.values() if not np.isnan(v)]
    return DetectionReport(
        class_names=names,
        ap50=ap50,
        ap50_95=ap5095,
        map50=float(np.mean(valid50)) if valid50 else 0.0,
        map50_95=float(np.mean(valid5095)) if valid5095 else 0.0,
        count_mae=mae,
        exact_count_fraction=exact,
        images=len(results),
    )
