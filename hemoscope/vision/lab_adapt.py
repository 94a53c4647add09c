"""Fitting a laboratory profile (`vision.lab_profile`) on one laboratory's labelled cells.

numpy only, on the CPU, in seconds: the cells go through the shipped classifier once
(`embed`: its embedding and logits, colour standardisation as at run time), then a
multinomial logistic regression corrects the shipped head on those embeddings:

    z = logits / T0 + embedding @ dW.T + db,   minimise  mean CE(z, y) + l2/2 |dW|^2 + ...

The penalty is on the correction, i.e. towards the shipped head, so with few cells the
profile stays close to the shipped model; rows of classes without a single cell stay
zero (nothing of what the model knows of them is changed). ``l2`` is chosen by an inner
cross-validation among `L2_GRID`, the temperature on the held-back predictions.

`adapt` measures itself: stratified k-fold cross-validation on the given cells (each
cell predicted by a profile fitted without it; `l2` chosen inside each fold), before
(the shipped model) and after, overall and per class. `Adaptation.refusal` says why a
profile must not be written: it would be worse than the shipped model on these cells.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from hemoscope.vision.classification_metrics import softmax
from hemoscope.vision.lab_profile import LabProfile, model_identity, now_iso

__all__ = [
    "L2_GRID",
    "MIN_CELLS",
    "Adaptation",
    "Score",
    "adapt",
    "check_cells",
    "embed",
    "fit_correction",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MIN_CELLS = 10
"""Fewer labelled cells than this teach nothing that can be measured."""
L2_GRID = (0.003, 0.01, 0.03, 0.1, 0.3)
"""Penalties tried on the correction (embeddings scaled to unit mean square)."""
FOLDS = 5
ITERATIONS = 300
TEMPERATURES = np.exp(np.linspace(np.log(0.3), np.log(4.0), 41))

Progress = Callable[[int, int], None]


class AdaptError(ValueError):
    """The cells given cannot make a profile (too few, one class, ...)."""


def embed(
    classifier: Any, crops: npt.NDArray[np.uint8], progress: Progress | None = None
) -> tuple[F64, F64]:
    """The shipped model's raw logits (N, C) and embeddings (N, D) of the crops."""
    logits: list[F64] = []
    emb: list[F64] = []
    step = 64
    for s in range(0, len(crops), step):
        lg, em = classifier.logits_and_embedding(crops[s : s + step])
        logits.append(np.asarray(lg, np.float64))
        emb.append(np.asarray(em, np.float64))
        if progress:
            progress(min(len(crops), s + step), len(crops))
    if not logits:
        return np.zeros((0, len(classifier.classes))), np.zeros((0, 0))
    return np.concatenate(logits), np.concatenate(emb)


def check_cells(labels: Sequence[int] | I64, classes: Sequence[str]) -> None:
    """Raise `AdaptError` for cells that cannot make a profile."""
    y = np.asarray(labels, np.int64)
    if len(y) < MIN_CELLS:
        raise AdaptError(
            f"too few labelled cells: {len(y)}; at least {MIN_CELLS} are needed (more than "
            "25 per class to gain much)"
        )
    present = np.unique(y)
    if len(present) < 2:
        only = classes[int(present[0])] if len(present) else "none"
        raise AdaptError(
            f"all {len(y)} cells are of a single class ({only}); a profile needs cells of at "
            "least two classes"
        )


@dataclass(frozen=True)
class Score:
    """Accuracy, balanced accuracy and per-class recall ``{class: (cells, recall)}``."""

    accuracy: float
    balanced_accuracy: float
    per_class: dict[str, tuple[int, float]]

    @classmethod
    def of(cls, y: I64, pred: I64, classes: Sequence[str]) -> Score:
        per: dict[str, tuple[int, float]] = {}
        for k in np.unique(y):
            sel = y == k
            per[classes[int(k)]] = (int(sel.sum()), float((pred[sel] == k).mean()))
        acc = float((y == pred).mean()) if len(y) else 0.0
        bal = float(np.mean([r for _, r in per.values()])) if per else 0.0
        return cls(acc, bal, per)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accuracy": round(self.accuracy, 4),
            "balanced_accuracy": round(self.balanced_accuracy, 4),
            "per_class_recall": {c: round(r, 4) for c, (_, r) in self.per_class.items()},
        }


@dataclass(frozen=True)
class Adaptation:
    """The fitted profile, and how it measured against the shipped model."""

    profile: LabProfile
    before: Score
    after: Score
    method: str
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def refusal(self) -> str:
        """Why the profile must not be used ("" when it may)."""
        b, a = self.before, self.after
        worse = []
        if a.accuracy < b.accuracy:
            worse.append(f"accuracy {a.accuracy:.1%} < {b.accuracy:.1%}")
        if a.balanced_accuracy < b.balanced_accuracy:
            worse.append(f"balanced accuracy {a.balanced_accuracy:.1%} < {b.balanced_accuracy:.1%}")
        if not worse:
            return ""
        return (
            "the profile would be worse than the shipped model on these cells ("
            + ", ".join(worse)
            + f", {self.method}); the shipped model stays in use"
        )

    def table(self) -> str:
        """Before/after per class, as `adapt` prints it."""
        head = f"{'class':<14}{'cells':>6}{'shipped':>10}{'profile':>10}"
        rows = [head, "-" * len(head)]
        for c, (n, rb) in self.before.per_class.items():
            ra = self.after.per_class[c][1]
            rows.append(f"{c:<14}{n:>6}{rb:>10.1%}{ra:>10.1%}")
        rows.append("-" * len(head))
        n = sum(n for n, _ in self.before.per_class.values())
        for name, b, a in (
            ("accuracy", self.before.accuracy, self.after.accuracy),
            ("balanced", self.before.balanced_accuracy, self.after.balanced_accuracy),
        ):
            rows.append(f"{name:<14}{n:>6}{b:>10.1%}{a:>10.1%}")
        return "\n".join(rows)


# -- fitting ------------------------------------------------------------------------------
def _scale(embedding: F64) -> float:
    s = float(np.sqrt(np.mean(embedding**2)))
    return s if s > 0 else 1.0


def _weights(y: I64, n_classes: int) -> F64:
    """Per-cell weights between frequency and balance (square root of the inverse class
    frequency), mean 1: a rare class counts more, not as much as the common ones."""
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    w = 1.0 / np.sqrt(np.maximum(counts[y], 1.0))
    out: F64 = w / w.mean()
    return out


def fit_correction(
    embedding: F64, base: F64, y: I64, l2: float, iterations: int = ITERATIONS
) -> tuple[F64, F64]:
    """The head correction ``(dW (C, D), db (C,))`` in embedding units: logits
    ``base + embedding @ dW.T + db`` fit ``y``; classes absent from ``y`` stay zero."""
    n, d = embedding.shape
    c = base.shape[1]
    s = _scale(embedding)
    x = np.hstack([embedding / s, np.ones((n, 1))])
    onehot = np.eye(c)[y]
    w = _weights(y, c)[:, None]
    present = np.bincount(y, minlength=c) > 0
    reg = np.full(d + 1, l2)
    reg[-1] = l2 * 0.1
    lip = 0.5 * float(np.linalg.eigvalsh((x * w).T @ x / n)[-1]) + l2
    a = np.zeros((c, d + 1))
    v = a.copy()
    for k in range(iterations):
        p = softmax(base + x @ v.T)
        g = ((p - onehot) * w).T @ x / n + reg * v
        g[~present] = 0.0
        a_next = v - g / lip
        v = a_next + (k / (k + 3)) * (a_next - a)
        a = a_next
    return a[:, :d] / s, a[:, d].copy()


def _folds(y: I64, k: int, seed: int) -> I64:
    """A fold number per cell, stratified: each class spread over the folds."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), np.int64)
    offset = 0
    for cls in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cls))
        fold[idx] = (np.arange(len(idx)) + offset) % k
        offset += len(idx)
    return fold


def _nll(z: F64, y: I64) -> float:
    p = softmax(z)
    return float(-np.mean(np.log(np.maximum(p[np.arange(len(y)), y], 1e-12))))


def _choose_l2(embedding: F64, base: F64, y: I64, seed: int) -> float:
    """The penalty of `L2_GRID` with the lowest held-back log-loss (3-fold)."""
    k = min(3, len(y) // 2)
    if k < 2:
        return L2_GRID[-1]
    fold = _folds(y, k, seed)
    losses = []
    for l2 in L2_GRID:
        z = base.copy()
        for f in range(k):
            tr, te = fold != f, fold == f
            dw, db = fit_correction(embedding[tr], base[tr], y[tr], l2, ITERATIONS // 2)
            z[te] = base[te] + embedding[te] @ dw.T + db
        losses.append(_nll(z, y))
    return L2_GRID[int(np.argmin(losses))]


def _temperature(z: F64, y: I64) -> float:
    losses = [_nll(z / t, y) for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])


def adapt(
    embedding: npt.ArrayLike,
    logits: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    classes: Sequence[str],
    base_temperature: float,
    models: dict[str, dict[str, Any]],
    name: str,
    source: str = "",
    seed: int = 0,
    progress: Progress | None = None,
) -> Adaptation:
    """Fit a profile on the cells and measure it by cross-validation against the shipped
    model. ``models`` maps a role to the card of each model in use (their identities go
    into the profile). Raises `AdaptError` for cells that cannot make one."""
    t0 = time.perf_counter()
    e = np.asarray(embedding, np.float64)
    y = np.asarray(labels, np.int64)
    check_cells(y, classes)
    base = np.asarray(logits, np.float64) / base_temperature
    k = int(min(FOLDS, max(2, len(y) // 2)))
    fold = _folds(y, k, seed)
    out_of_fold = base.copy()
    steps = k + 1
    for f in range(k):
        tr, te = fold != f, fold == f
        l2 = _choose_l2(e[tr], base[tr], y[tr], seed + f)
        dw, db = fit_correction(e[tr], base[tr], y[tr], l2)
        out_of_fold[te] = base[te] + e[te] @ dw.T + db
        if progress:
            progress(f + 1, steps)
    temperature = _temperature(out_of_fold, y)
    l2 = _choose_l2(e, base, y, seed + k)
    dw, db = fit_correction(e, base, y, l2)
    if progress:
        progress(steps, steps)
    before = Score.of(y, base.argmax(1), classes)
    after = Score.of(y, out_of_fold.argmax(1), classes)
    method = f"{k}-fold cross-validation on {len(y)} cells"
    seconds = time.perf_counter() - t0
    counts = np.bincount(y, minlength=len(classes))
    profile = LabProfile(
        name=name,
        created=now_iso(),
        classes=tuple(classes),
        delta_weight=dw,
        delta_bias=db,
        base_temperature=float(base_temperature),
        temperature=temperature,
        models={role: model_identity(card) for role, card in models.items() if card},
        cells_per_class={classes[i]: int(n) for i, n in enumerate(counts) if n},
        source=source,
        validation={
            "method": method,
            "shipped": before.as_dict(),
            "profile": after.as_dict(),
        },
        fit={"l2": l2, "iterations": ITERATIONS, "seconds": round(seconds, 2)},
    )
    return Adaptation(profile, before, after, method, seconds)
