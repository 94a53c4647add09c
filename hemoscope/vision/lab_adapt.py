"""Fitting a laboratory profile (`vision.lab_profile`) on one laboratory's labelled cells.

numpy only, on the CPU, in seconds: the cells go through the shipped classifier once
(`embed`: its logits and descriptor, i.e. its embedding followed by the pooled maps of its
middle stages, `training.descriptor`; colour standardisation as at run time), then a
multinomial logistic regression corrects the shipped head on those descriptors:

    z = logits / T0 + descriptor @ dW.T + db,   minimise  mean CE(z, y) + l2/2 |dW|^2 + ...

The penalty is on the correction, i.e. towards the shipped head, so with few cells the
profile stays close to the shipped model; rows of classes without a single cell stay
zero (nothing of what the model knows of them is changed). ``l2`` is chosen by an inner
cross-validation among `L2_GRID`, the temperature on the held-back predictions.

Each descriptor dimension is measured in its own unit: divided by its spread over the
training crops (the card's ``descriptor_spread``) before the fit, so that the penalty
does not let the widest dimensions alone carry the correction. The shipped logits enter
at `BASE_WEIGHT` (their temperature divided by it, which the profile records as its
``base_temperature``): the laboratory's own cells may then outvote an error the shipped
head makes with confidence on a whole class, as it does on jiangxi's neutrophils.

`adapt` measures itself: stratified k-fold cross-validation on the given cells (each
cell predicted by a profile fitted without it; `l2` chosen inside each fold), before
(the shipped model) and after, overall and per class. `Adaptation.refusal` says why a
profile must not be written: it would be worse than the shipped model on these cells.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ParamSpec, TypeVar

import numpy as np
import numpy.typing as npt

from hemoscope.vision.blas import one_blas_thread
from hemoscope.vision.classification_metrics import softmax
from hemoscope.vision.descriptor_spread import descriptor_spread
from hemoscope.vision.lab_embed import Progress, embed_views, offset_progress, views_for
from hemoscope.vision.lab_profile import LabProfile, model_identity, now_iso
from hemoscope.vision.lab_review import review_figures, review_threshold_for

__all__ = [
    "BASE_WEIGHT",
    "FITS",
    "L2_GRID",
    "MIN_CELLS",
    "Adaptation",
    "Score",
    "adapt",
    "check_cells",
    "fit_correction",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MIN_CELLS = 10
"""Fewer labelled cells than this teach nothing that can be measured."""
MIN_CLASS_CELLS = 5
"""Classes with fewer held-back cells do not count in the balanced accuracy that decides
whether a profile is worse than the shipped model (`Adaptation.refusal`)."""
L2_GRID = (0.001, 0.003, 0.01, 0.03)
"""Penalties tried on the correction (embeddings centred, scaled to unit mean square);
the one with the fewest held-back errors is taken. Larger ones (0.1, 0.3) lost accuracy
on the rest of the laboratory: jiangxi 87.4 / 80.9 % with 100 / 25 cells instead of
89.0 / 83.0 %, bionet 92.6 / 85.9 % instead of 93.7 / 86.4 % (`benchmarks/bench_adapt.py`,
5 draws, chosen by log-loss; by errors among all six: 88.9 / 81.0 %, 93.4 / 86.1 %)."""
BASE_WEIGHT = 0.5
"""How much of the shipped logits a profile starts from (the correction is fitted on top).
Measured by `benchmarks/bench_adapt_fit.py` (5 draws, each dimension in units of the
card's descriptor spread): 1.0 gives jiangxi 84.3 / 91.7 % and bionet 91.3 / 95.2 % with
25 / 100 cells; 0.5 gives 85.3 / 92.0 and 92.9 / 95.3 %; at 0.3 and below the
cross-validation of some draws falls under the shipped model (refused; jiangxi 82.9 /
88.2 %)."""
FOLDS = 5
ITERATIONS = 300
TOLERANCE = 1e-5
TEMPERATURES = np.exp(np.linspace(np.log(0.3), np.log(4.0), 41))

P = ParamSpec("P")
R = TypeVar("R")


class AdaptError(ValueError):
    """The cells given cannot make a profile (too few, one class, ...)."""


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

    def balanced(self, min_cells: int) -> float | None:
        """Mean recall over the classes with at least ``min_cells`` cells (None: none)."""
        recalls = [r for n, r in self.per_class.values() if n >= min_cells]
        return float(np.mean(recalls)) if recalls else None

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
        """Why the profile must not be used ("" when it may): lower accuracy than the
        shipped model on the held-back cells, or lower balanced accuracy over the classes
        with at least `MIN_CLASS_CELLS` cells (the recall of one or two cells is no
        measurement: one cell decides 50 points of it)."""
        b, a = self.before, self.after
        worse = []
        if a.accuracy < b.accuracy:
            worse.append(f"accuracy {a.accuracy:.1%} < {b.accuracy:.1%}")
        bb, ba = b.balanced(MIN_CLASS_CELLS), a.balanced(MIN_CLASS_CELLS)
        if ba is not None and bb is not None and ba < bb:
            worse.append(
                f"balanced accuracy over the classes of {MIN_CLASS_CELLS} cells or more "
                f"{ba:.1%} < {bb:.1%}"
            )
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
    embedding: F64,
    base: F64,
    y: I64,
    l2: float,
    iterations: int = ITERATIONS,
    spread: F64 | None = None,
) -> tuple[F64, F64]:
    """The head correction ``(dW (C, D), db (C,))`` in embedding units: logits
    ``base + embedding @ dW.T + db`` fit ``y``; classes absent from ``y`` stay zero.

    Accelerated gradient descent on embeddings centred on their mean (the bias takes the
    mean; centring keeps the problem well conditioned), each dimension divided by its
    ``spread`` (`descriptor_spread`; none: one unit for all), then all scaled to unit mean
    square; it stops early once the largest gradient is below `TOLERANCE`."""
    n, d = embedding.shape
    c = base.shape[1]
    mu = embedding.mean(axis=0)
    unit = np.ones(d) if spread is None else np.asarray(spread, np.float64)
    unit = unit * _scale((embedding - mu) / unit)
    x = np.hstack([(embedding - mu) / unit, np.ones((n, 1))])
    onehot = np.eye(c)[y]
    w = _weights(y, c)[:, None]
    xw = x * w / n
    present = np.bincount(y, minlength=c) > 0
    reg = np.full(d + 1, l2)
    reg[-1] = l2 * 0.1
    lip = 0.5 * float(np.linalg.eigvalsh(xw.T @ x)[-1]) + l2
    a = np.zeros((c, d + 1))
    v = a.copy()
    for k in range(iterations):
        z = base + x @ v.T
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        g = (z - onehot).T @ xw + reg * v
        g[~present] = 0.0
        if float(np.abs(g).max()) < TOLERANCE:
            a = v
            break
        a_next = v - g / lip
        v = a_next + (k / (k + 3)) * (a_next - a)
        a = a_next
    dw = a[:, :d] / unit
    return dw, a[:, d] - dw @ mu


def _folds(y: I64, k: int, seed: int, groups: I64 | None = None) -> I64:
    """A fold number per row. Rows of one group (the views of one cell, or the cells of
    one case) share a fold; groups of a single class are spread over the folds class by
    class (stratified), groups of mixed classes at random."""
    rng = np.random.default_rng(seed)
    g = np.arange(len(y)) if groups is None else np.unique(groups, return_inverse=True)[1]
    n_groups = int(g.max()) + 1 if len(g) else 0
    first = np.full(n_groups, -1, np.int64)
    first[g[::-1]] = y[::-1]
    pure = (
        all(len(np.unique(y[g == i])) == 1 for i in range(n_groups)) if groups is not None else True
    )
    group_fold = np.empty(n_groups, np.int64)
    if pure:
        offset = 0
        for cls in np.unique(first):
            idx = rng.permutation(np.flatnonzero(first == cls))
            group_fold[idx] = (np.arange(len(idx)) + offset) % k
            offset += len(idx)
    else:
        group_fold[rng.permutation(n_groups)] = np.arange(n_groups) % k
    fold: I64 = group_fold[g]
    return fold


def _n_folds(n_groups: int) -> int:
    return int(min(FOLDS, n_groups))


def _nll(z: F64, y: I64) -> float:
    p = softmax(z)
    return float(-np.mean(np.log(np.maximum(p[np.arange(len(y)), y], 1e-12))))


def _choose_l2(
    embedding: F64,
    base: F64,
    y: I64,
    seed: int,
    groups: I64 | None = None,
    folds: int = 3,
    spread: F64 | None = None,
) -> float:
    """The penalty of `L2_GRID` with the fewest held-back errors (``folds``-fold), the
    lower log-loss between equals; the largest when the cells are too few to tell."""
    n_groups = len(y) if groups is None else len(np.unique(groups))
    k = min(folds, n_groups // 2)
    if k < 2:
        return L2_GRID[-1]
    fold = _folds(y, k, seed, groups)
    losses = []
    for l2 in L2_GRID:
        z = base.copy()
        for f in range(k):
            tr, te = fold != f, fold == f
            dw, db = fit_correction(embedding[tr], base[tr], y[tr], l2, ITERATIONS // 2, spread)
            z[te] = base[te] + embedding[te] @ dw.T + db
        losses.append((int((z.argmax(1) != y).sum()), _nll(z, y)))
    return L2_GRID[min(range(len(L2_GRID)), key=lambda i: losses[i])]


def _temperature(z: F64, y: I64) -> float:
    losses = [_nll(z / t, y) for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])


def _on_one_blas_thread(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with one_blas_thread():
            return fn(*args, **kwargs)

    return run


FITS = ((BASE_WEIGHT, True), (1.0, False))
"""How a profile is fitted: the shipped logits at `BASE_WEIGHT` and each dimension in its
own unit; when cross-validation refuses that fit, once more as profiles were fitted
before (the shipped logits at full weight, one unit for all dimensions), which asks less
of very few cells. On bionet's 10-cell draws the first fit was refused on 3 of 5 (83.0 %
on the rest); the earlier fit was refused on none (88.2 %)."""


@_on_one_blas_thread
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
    groups: npt.ArrayLike | None = None,
    primary: npt.ArrayLike | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    fits: Sequence[tuple[float, bool]] = FITS,
) -> Adaptation:
    """Fit a profile on the cells and measure it by cross-validation against the shipped
    model. ``models`` maps a role to the card of each model in use (their identities go
    into the profile). Rows of one ``groups`` value (the rotated views of one cell, the
    cells of one case) are held back together; only ``primary`` rows (the cells as the
    station sees them, not their extra views) are counted and scored. The ``fits``
    (`FITS`: the shipped logits' weight, whether each dimension is in units of the card's
    descriptor spread) are tried in turn; the first not refused is returned, else the first.
    Raises `AdaptError` for cells that cannot make one."""
    t0 = time.perf_counter()
    cells = _Cells.of(embedding, logits, labels, groups, primary, classes, seed)
    spread = descriptor_spread(models.get("classifier"), cells.e.shape[-1])
    first: Adaptation | None = None
    for weight, by_spread in fits:
        res = _adapt_once(
            cells, weight, spread if by_spread else None, first is not None,
            classes=classes, shipped_temperature=float(base_temperature), models=models,
            name=name, source=source, seed=seed, t0=t0,
            progress=progress if first is None else None,
        )  # fmt: skip
        if not res.refusal:
            return res
        first = first or res
    assert first is not None
    return first


@dataclass(frozen=True)
class _Cells:
    """The cells as `adapt` fits them: descriptors, raw logits and labels per row, which
    rows count (the cells as the station sees them), the groups held back together, and
    the cross-validation folds."""

    e: F64
    logits: F64
    y: I64
    main: npt.NDArray[np.bool_]
    groups: I64 | None
    fold: I64
    k: int
    by_case: bool

    @classmethod
    def of(
        cls,
        embedding: npt.ArrayLike,
        logits: npt.ArrayLike,
        labels: npt.ArrayLike,
        groups: npt.ArrayLike | None,
        primary: npt.ArrayLike | None,
        classes: Sequence[str],
        seed: int,
    ) -> _Cells:
        e = np.asarray(embedding, np.float64)
        y = np.asarray(labels, np.int64)
        main = np.ones(len(y), bool) if primary is None else np.asarray(primary, bool)
        g = None if groups is None else np.unique(np.asarray(groups), return_inverse=True)[1]
        check_cells(y[main], classes)
        n_groups = int(main.sum()) if g is None else len(np.unique(g))
        by_case = g is not None and n_groups >= 2 and n_groups < int(main.sum()) and _cases(g, main)
        if g is not None and n_groups < 2:
            g = None  # a single case: its cells are held back one by one
        k = _n_folds(n_groups if g is not None else int(main.sum()))
        fold = _folds(y, k, seed, g)
        return cls(e, np.asarray(logits, np.float64), y, main, g, fold, k, bool(by_case))


def _adapt_once(
    cells: _Cells,
    weight: float,
    spread: F64 | None,
    again: bool,
    *,
    classes: Sequence[str],
    shipped_temperature: float,
    models: dict[str, dict[str, Any]],
    name: str,
    source: str,
    seed: int,
    t0: float,
    progress: Progress | None,
) -> Adaptation:
    """One fit of `adapt` (``again``: after an earlier one was refused): the shipped logits
    at ``weight`` (the profile's base temperature is the shipped one over it), each dimension in
    units of ``spread`` (None: one for all)."""
    e, y, main, g, fold, k = cells.e, cells.y, cells.main, cells.groups, cells.fold, cells.k
    base_temperature = shipped_temperature / weight
    base = cells.logits / base_temperature
    out_of_fold = base.copy()
    steps = k + 1
    for f in range(k):
        tr, te = fold != f, fold == f
        l2 = _choose_l2(e[tr], base[tr], y[tr], seed + f, None if g is None else g[tr], 2, spread)
        dw, db = fit_correction(e[tr], base[tr], y[tr], l2, spread=spread)
        out_of_fold[te] = base[te] + e[te] @ dw.T + db
        if progress:
            progress(f + 1, steps)
    temperature = _temperature(out_of_fold[main], y[main])
    l2 = _choose_l2(e, base, y, seed + k, g, spread=spread)
    dw, db = fit_correction(e, base, y, l2, spread=spread)
    if progress:
        progress(steps, steps)
    card_threshold = (models.get("classifier") or {}).get("review_threshold")
    held_back = softmax(out_of_fold[main], temperature)
    review = review_threshold_for(
        held_back, y[main], None if card_threshold is None else float(card_threshold)
    )
    before = Score.of(y[main], base[main].argmax(1), classes)
    after = Score.of(y[main], out_of_fold[main].argmax(1), classes)
    held = "cases" if cells.by_case else "cells"
    method = f"{k}-fold cross-validation on {int(main.sum())} cells (folds of whole {held})"
    if again:
        how = "one unit for every dimension" if spread is None else "the card's units"
        method += (
            f"; fitted a second time, with the shipped logits at weight {weight:g} and "
            f"{how}, after the first fit was refused"
        )
    seconds = time.perf_counter() - t0
    counts = np.bincount(y[main], minlength=len(classes))
    profile = LabProfile(
        name=name,
        created=now_iso(),
        classes=tuple(classes),
        delta_weight=dw,
        delta_bias=db,
        base_temperature=float(base_temperature),
        temperature=temperature,
        review_threshold=review,
        models={role: model_identity(card) for role, card in models.items() if card},
        cells_per_class={classes[i]: int(n) for i, n in enumerate(counts) if n},
        source=source,
        validation={
            "method": method,
            "shipped": before.as_dict(),
            "profile": after.as_dict(),
            **(
                {}
                if card_threshold is None
                else {"review": review_figures(held_back, y[main], review or card_threshold)}
            ),
        },
        fit={
            "l2": l2,
            "base_weight": weight,
            "descriptor_spread": spread is not None,
            "iterations": ITERATIONS,
            "views": round(len(y) / max(1, int(main.sum()))),
            "seconds": round(seconds, 2),
        },
    )
    return Adaptation(profile, before, after, method, seconds)


def _cases(groups: I64, primary: npt.NDArray[np.bool_]) -> bool:
    """Whether the groups hold several cells each (cases), not the views of one cell."""
    return len(np.unique(groups[primary])) < int(primary.sum())


def adapt_cells(
    classifier: Any,
    cells: Any,
    *,
    models: dict[str, dict[str, Any]],
    name: str,
    source: str,
    seed: int = 0,
    embed_progress: Progress | None = None,
    fit_progress: Progress | None = None,
) -> Adaptation:
    """A laboratory's labelled cells (`lab_cells.LabCells`) embedded in their views
    (`embed_views`) and fitted (`adapt`): what ``hemoscope adapt`` and the station's
    adapt dialog both do. When the classifier's card has a colour reference, the cells
    are also fitted as the classifier sees them through their microscope's colour
    calibration (`vision.classifier.seen_through`, the card's ``colour_view``), and the
    better of the two by cross-validation is kept (`vision.lab_adapt_colour`)."""
    from hemoscope.vision.classifier import seen_through
    from hemoscope.vision.lab_adapt_colour import better, calibration_for
    from hemoscope.vision.lab_profile import UsualUnfamiliar, colour_view_of

    check_cells(cells.labels, cells.classes)
    crops = cells.array()
    colour = calibration_for(classifier, crops)
    view = colour_view_of(getattr(classifier, "card", {}) or {})
    variants = [crops] if colour is None else [crops, colour.apply(crops)]
    total = len(crops) * views_for(len(crops)) * len(variants)
    results = []
    camera: tuple[F64, F64] | None = None
    seen: list[F64] = []  # each variant's descriptors of the cells as given (primary rows)
    for i, arr in enumerate(variants):
        start = i * total // 2
        step = None if embed_progress is None else offset_progress(embed_progress, start, total)
        logits, embedding, cell, primary = embed_views(classifier, arr, progress=step)
        if camera is None:
            camera = (logits, embedding)
        else:  # the cells as the classifier sees them through the calibration
            logits, embedding = seen_through(view, camera, (logits, embedding))
        seen.append(embedding[primary])
        results.append(
            adapt(
                embedding,
                logits,
                np.asarray(cells.labels)[cell],
                groups=np.asarray(cells.groups)[cell],
                primary=primary,
                classes=cells.classes,
                base_temperature=float(getattr(classifier, "temperature", 1.0)),
                models=models,
                name=name,
                source=source,
                seed=seed,
                progress=fit_progress if i == len(variants) - 1 else None,
            )
        )
    kept = results[0] if colour is None else better(results[0], results[1], colour, view)
    calibrated = kept.profile.colour is not None
    # How often the classifier flags these cells unfamiliar with the profile kept: what
    # the station compares a case with (`core.unusual`).
    odd = classifier.standard_unfamiliar(crops, seen[-1] if calibrated else seen[0], seen[0])
    usual = UsualUnfamiliar(float(np.mean(odd)), len(crops))
    return replace(kept, profile=replace(kept.profile, usual_unfamiliar=usual))
