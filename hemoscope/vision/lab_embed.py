"""The shipped classifier's logits and descriptors of a laboratory's cells, in the views
a laboratory profile is fitted on (`vision.lab_adapt`): the cell as the station sees it
and, while the cells are few, turned by 90, 180 and 270 degrees."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["MAX_ROWS", "VIEWS", "Progress", "embed", "embed_views", "offset_progress", "views_for"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Progress = Callable[[int, int], None]


def embed(
    classifier: Any,
    crops: npt.NDArray[np.uint8],
    progress: Progress | None = None,
    turns: int | None = None,
) -> tuple[F64, F64]:
    """The shipped model's raw logits (N, C) and descriptors (N, D: its embedding and
    the pooled maps of its middle stages, `Classifier.logits_and_descriptor`) of the
    crops (over the classifier's own turns, or ``turns``)."""
    logits: list[F64] = []
    emb: list[F64] = []
    step = 64
    extra = {} if turns is None else {"turns": turns}
    for s in range(0, len(crops), step):
        lg, em = classifier.logits_and_descriptor(crops[s : s + step], **extra)
        logits.append(np.asarray(lg, np.float64))
        emb.append(np.asarray(em, np.float64))
        if progress:
            progress(min(len(crops), s + step), len(crops))
    if not logits:
        return np.zeros((0, len(classifier.classes))), np.zeros((0, 0))
    return np.concatenate(logits), np.concatenate(emb)


VIEWS = 4
"""Each labelled cell is fitted on as the station sees it and turned by 90, 180 and 270
degrees (the graph averages the mirror image already): more examples of the same cell
for the fit, none for the scoring. Measured on jiangxi with 100 cells: 90.2 % instead of
88.8 % on the rest (`benchmarks/bench_adapt.py`). Views are what few cells need: with
many, fewer views keep the rows fitted at most `MAX_ROWS` (time)."""
MAX_ROWS = 600


def views_for(cells: int) -> int:
    """How many views of each of ``cells`` cells to fit on."""
    return max(1, min(VIEWS, MAX_ROWS // max(1, cells)))


def embed_views(
    classifier: Any,
    crops: npt.NDArray[np.uint8],
    views: int | None = None,
    progress: Progress | None = None,
) -> tuple[F64, F64, I64, npt.NDArray[np.bool_]]:
    """Logits and descriptors (`embed`) of each crop turned ``views`` times by 90 degrees (default:
    `views_for`); the cell index of each row and whether it is the crop as given (the
    "primary" view)."""
    n = len(crops)
    views = views_for(n) if views is None else views
    turns = int(getattr(classifier, "turns", 1))
    # View r is the classifier's average over quarter turns r .. r + turns - 1: each
    # quarter turn is run once, and the views are made of them.
    quarters = sorted({(r + t) % 4 for r in range(views) for t in range(turns)})
    single: dict[int, tuple[F64, F64]] = {}
    for i, q in enumerate(quarters):
        turned = np.ascontiguousarray(np.rot90(crops, q, axes=(1, 2)))
        step = None if progress is None else offset_progress(progress, i * n, len(quarters) * n)
        single[q] = embed(classifier, turned, step, turns=1 if turns > 1 else None)
    logits, emb = [], []
    for r in range(views):
        parts = [single[(r + t) % 4] for t in range(turns)]
        logits.append(np.mean([p[0] for p in parts], axis=0))
        emb.append(np.mean([p[1] for p in parts], axis=0))
    cell = np.tile(np.arange(n), views)
    primary = np.arange(n * views) < n
    return np.concatenate(logits), np.concatenate(emb), cell, primary


def offset_progress(progress: Progress, start: int, total: int) -> Progress:
    return lambda done, _n: progress(start + done, total)
