"""How the models hold on labelled white cells from any laboratory.

Two ways of meeting a laboratory's cells, as the station meets them:

- ``cells``: single-cell images (crops from an analyser or a camera), framed as
  ``hemoscope classify`` frames them (`single_cell.frame_single_cell`);
- ``fields``: microscope fields with one labelled white cell near the centre, through
  the whole pipeline as ``hemoscope analyze`` runs it (`Pipeline.analyze_frame`); the
  white cell reported nearest the centre is the one scored, and a field where no white
  cell is reported counts as wrong and flagged ("missed").

Each set gives accuracy, balanced accuracy (the mean of the per-class recalls), the
accuracy of the cells left unflagged, the fraction flagged for review, the flags by
reason and the confusion matrix: accuracy is never reported without the flagged
fraction beside it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from hemoscope.core import CellKind
from hemoscope.vision.datasets import Sample, load_rgb, map_folders
from hemoscope.vision.single_cell import Framing

log = logging.getLogger(__name__)

Mode = Literal["cells", "fields"]
MISSED = "no white cell reported"


@dataclass(frozen=True)
class Prediction:
    """One labelled cell: the true class index, the predicted one (-1: none reported),
    whether it was flagged and why."""

    truth: int
    predicted: int
    flagged: bool
    reason: str = ""
    confidence: float = 0.0


@dataclass
class SetResult:
    name: str
    mode: Mode
    classes: tuple[str, ...]
    predictions: list[Prediction] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.predictions)

    def _arrays(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        y = np.array([p.truth for p in self.predictions], np.int64)
        p = np.array([p.predicted for p in self.predictions], np.int64)
        f = np.array([p.flagged for p in self.predictions], bool)
        return y, p, f

    @property
    def accuracy(self) -> float:
        y, p, _ = self._arrays()
        return float((y == p).mean()) if len(y) else 0.0

    @property
    def balanced_accuracy(self) -> float:
        """Mean recall over the classes present in the set."""
        y, p, _ = self._arrays()
        recalls = [float((p[y == k] == k).mean()) for k in np.unique(y)]
        return float(np.mean(recalls)) if recalls else 0.0

    @property
    def flagged_fraction(self) -> float:
        _, _, f = self._arrays()
        return float(f.mean()) if len(f) else 0.0

    @property
    def accuracy_unflagged(self) -> float:
        """Accuracy of the cells left unflagged (NaN when every cell is flagged)."""
        y, p, f = self._arrays()
        return float((y == p)[~f].mean()) if (~f).any() else float("nan")

    def confusion(self) -> npt.NDArray[np.int64]:
        """Rows: true class; columns: predicted class, the last one "none reported"."""
        k = len(self.classes)
        cm = np.zeros((k, k + 1), np.int64)
        for pr in self.predictions:
            cm[pr.truth, pr.predicted if pr.predicted >= 0 else k] += 1
        return cm

    def reasons(self) -> dict[str, int]:
        count: Counter[str] = Counter()
        for pr in self.predictions:
            if pr.flagged:
                for r in (pr.reason or "unspecified").split("; "):
                    count[r] += 1
        return dict(count.most_common())

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": self.mode,
            "cells": self.n,
            "accuracy": round(self.accuracy, 4),
            "balanced_accuracy": round(self.balanced_accuracy, 4),
            "accuracy_unflagged": round(self.accuracy_unflagged, 4),
            "flagged_fraction": round(self.flagged_fraction, 4),
            "flag_reasons": self.reasons(),
            "classes": list(self.classes),
            "confusion": {
                "rows": "true class",
                "columns": [*self.classes, "none reported"],
                "matrix": self.confusion().tolist(),
            },
            "unreadable": self.unreadable,
        }


def with_threshold(result: SetResult, threshold: float) -> SetResult:
    """The set as a review threshold of ``threshold`` would flag it, given a result
    measured with none (flags for other reasons are kept)."""
    out = SetResult(result.name, result.mode, result.classes, unreadable=result.unreadable)
    for p in result.predictions:
        low = p.confidence < threshold and p.predicted >= 0
        reasons = [r for r in p.reason.split("; ") if r and r != "low confidence"]
        if low:
            reasons.insert(0, "low confidence")
        flagged = bool(reasons) or p.predicted < 0
        out.predictions.append(
            Prediction(p.truth, p.predicted, flagged, "; ".join(reasons), p.confidence)
        )
    return out


def parse_set(spec: str, option: str = "--set") -> tuple[str, Mode, Path]:
    """A laboratory's set as the commands take it, ``NAME=cells:FOLDER`` (single-cell
    images) or ``NAME=fields:FOLDER`` (fields): (name, mode, folder)."""
    name, _, rest = spec.partition("=")
    mode, _, folder = rest.partition(":")
    if not name or mode not in ("cells", "fields") or not folder:
        raise SystemExit(f"{option} takes NAME=cells:FOLDER or NAME=fields:FOLDER, got '{spec}'")
    return name, mode, Path(folder)  # type: ignore[return-value]


def labelled_samples(root: Path, classes: Sequence[str]) -> list[Sample]:
    """The labelled images under ``root`` (one folder per class, named through the
    taxonomy as ``hemoscope evaluate`` names them); unknown folders are logged."""
    from hemoscope.vision.datasets import image_files

    mapping = map_folders(root, classes)
    for folder in mapping.unmatched:
        log.warning("%s: folder '%s' matches no class; not counted", root, folder)
    return [
        Sample(p, label)
        for folder, label in mapping.labels.items()
        for p in image_files(root / folder)
    ]


def _readable(
    samples: Sequence[Sample], result: SetResult
) -> Iterator[tuple[int, Sample, npt.NDArray[np.uint8]]]:
    """Each sample's index, itself and its RGB image; the unreadable ones are noted in
    ``result`` and skipped."""
    for i, s in enumerate(samples):
        try:
            rgb = load_rgb(s.path)
        except (OSError, ValueError) as exc:
            result.unreadable.append(f"{s.path}: {exc}")
            continue
        yield i, s, rgb


def measure_cells(
    name: str,
    samples: Sequence[Sample],
    classifier: Any,
    finder: Any,
    progress: Callable[[int, int], None] | None = None,
) -> SetResult:
    """Single-cell images framed and classified as ``hemoscope classify`` does."""
    from hemoscope.vision.single_cell import frame_single_cell, review_reason

    result = SetResult(name, "cells", tuple(classifier.classes))
    batch: list[tuple[npt.NDArray[np.uint8], int, Framing]] = []

    def flush() -> None:
        if not batch:
            return
        res = classifier.classify_crops(np.stack([c for c, _, _ in batch]))
        reasons = res.review_reasons()
        for i, (_, truth, framing) in enumerate(batch):
            label = res.labels[i]
            why = review_reason(framing, label, reasons[i])
            result.predictions.append(
                Prediction(
                    truth,
                    classifier.classes.index(label),
                    bool(why),
                    why,
                    float(res.confidence[i]),
                )
            )
        batch.clear()

    for i, s, rgb in _readable(samples, result):
        crop, framing = frame_single_cell(
            rgb, classifier.input_size, classifier.crop_scale, finder, "rgb"
        )
        batch.append((crop, s.label, framing))
        if len(batch) >= 64:
            flush()
        if progress:
            progress(i + 1, len(samples))
    flush()
    return result


def measure_fields(
    name: str,
    samples: Sequence[Sample],
    pipeline: Any,
    progress: Callable[[int, int], None] | None = None,
) -> SetResult:
    """Fields analysed as ``hemoscope analyze`` does; the white cell reported nearest
    the centre is scored."""
    classes = tuple(pipeline.classifier.classes)
    ids = list(pipeline.taxonomy_ids)
    result = SetResult(name, "fields", classes)
    for i, s, rgb in _readable(samples, result):
        fld = pipeline.analyze(rgb, "rgb", source=s.path.name)
        h, w = rgb.shape[:2]
        white = [c for c in fld.cells if c.kind is CellKind.WBC and c.auto_class is not None]
        if not white:
            result.predictions.append(Prediction(s.label, -1, True, MISSED))
        else:
            cell = min(
                white,
                key=lambda c: (c.box.x1 + c.box.x2 - w) ** 2 + (c.box.y1 + c.box.y2 - h) ** 2,
            )
            pred = ids.index(cell.auto_class) if cell.auto_class in ids else -1
            reason = str(getattr(cell, "review_reason", "")) or (
                "low confidence" if cell.review else ""
            )
            result.predictions.append(
                Prediction(s.label, pred, bool(cell.review), reason, cell.probability or 0.0)
            )
        if progress:
            progress(i + 1, len(samples))
    return result


def format_table(results: Sequence[SetResult]) -> str:
    """The cross-lab table, one row per set (the first column as wide as the longest name)."""
    w = max([16, *(len(r.name) + 2 for r in results)])
    head = (
        f"{'set':<{w}}{'mode':<8}{'cells':>6}{'accuracy':>10}{'balanced':>10}"
        f"{'unflagged right':>17}{'flagged':>9}"
    )
    rows = [head, "-" * len(head)]
    for r in results:
        rows.append(
            f"{r.name:<{w}}{r.mode:<8}{r.n:>6}{r.accuracy:>10.1%}{r.balanced_accuracy:>10.1%}"
            f"{r.accuracy_unflagged:>17.1%}{r.flagged_fraction:>9.1%}"
        )
    return "\n".join(rows)


def format_confusion(r: SetResult) -> str:
    cm = r.confusion()
    present = [i for i in range(len(r.classes)) if cm[i].sum() or cm[:, i].sum()]
    cols = [*present, len(r.classes)]
    names = [*(r.classes[i][:6] for i in present), "none"]
    out = [f"{r.name}: rows true, columns predicted", " " * 14 + "".join(f"{n:>7}" for n in names)]
    for i in present:
        if cm[i].sum():
            out.append(f"{r.classes[i]:<14}" + "".join(f"{cm[i, j]:>7d}" for j in cols))
    reasons = ", ".join(f"{k} {v}" for k, v in r.reasons().items()) or "none"
    out.append(f"flagged by reason: {reasons}")
    return "\n".join(out)
