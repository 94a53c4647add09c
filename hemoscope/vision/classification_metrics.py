"""Classification metrics and probability calibration (numpy only)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def softmax(logits: npt.ArrayLike, temperature: float = 1.0) -> FloatArray:
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    out: FloatArray = e / e.sum(axis=-1, keepdims=True)
    return out


def confusion_matrix(y_true: npt.ArrayLike, y_pred: npt.ArrayLike, n_classes: int) -> IntArray:
    """Rows are true classes, columns predicted classes."""
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


@dataclass(frozen=True)
class ClassificationReport:
    accuracy: float
    macro_f1: float
    precision: tuple[float, ...]
    recall: tuple[float, ...]
    f1: tuple[float, ...]
    support: tuple[int, ...]
    confusion: tuple[tuple[int, ...], ...]


def classification_report(cm: IntArray) -> ClassificationReport:
    """Accuracy, per-class precision/recall/F1 and macro-F1 from a confusion matrix.

    A class with no predictions has precision 0; one with no samples is left out of
    the macro average.
    """
    cm = np.asarray(cm, dtype=np.int64)
    tp = np.diag(cm).astype(np.float64)
    pred = cm.sum(axis=0).astype(np.float64)
    true = cm.sum(axis=1).astype(np.float64)
    precision = np.divide(tp, pred, out=np.zeros_like(tp), where=pred > 0)
    recall = np.divide(tp, true, out=np.zeros_like(tp), where=true > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    present = true > 0
    total = cm.sum()
    return ClassificationReport(
        accuracy=float(tp.sum() / total) if total else 0.0,
        macro_f1=float(f1[present].mean()) if present.any() else 0.0,
        precision=tuple(float(v) for v in precision),
        recall=tuple(float(v) for v in recall),
        f1=tuple(float(v) for v in f1),
        support=tuple(int(v) for v in true),
        confusion=tuple(tuple(int(v) for v in row) for row in cm),
    )


def expected_calibration_error(
    probs: npt.ArrayLike, y_true: npt.ArrayLike, bins: int = 15
) -> float:
    """ECE with equal-width confidence bins (top-1 confidence vs accuracy)."""
    p = np.asarray(probs, dtype=np.float64)
    t = np.asarray(y_true, dtype=np.int64)
    if len(t) == 0:
        return 0.0
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == t).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)


def nll(logits: npt.ArrayLike, y_true: npt.ArrayLike, temperature: float = 1.0) -> float:
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    t = np.asarray(y_true, dtype=np.int64)
    return float(-logp[np.arange(len(t)), t].mean())


def fit_temperature(
    logits: npt.ArrayLike, y_true: npt.ArrayLike, lo: float = 0.05, hi: float = 20.0
) -> float:
    """Temperature minimising validation NLL (golden-section search on log T).

    NLL is unimodal in T for fixed logits, so the search converges to the optimum.
    """
    a, b = math.log(lo), math.log(hi)
    gr = (math.sqrt(5) - 1) / 2
    c, d = b - gr * (b - a), a + gr * (b - a)
    fc, fd = nll(logits, y_true, math.exp(c)), nll(logits, y_true, math.exp(d))
    for _ in range(80):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - gr * (b - a)
            fc = nll(logits, y_true, math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + gr * (b - a)
            fd = nll(logits, y_true, math.exp(d))
    return math.exp((a + b) / 2)
