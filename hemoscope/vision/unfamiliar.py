"""The "unfamiliar cell" signal: how far a cell's embedding lies from every known class.

The classifier names one of its classes for every crop, even for a blast, a smudge cell,
debris or a cell out of focus, which belong to none of them. Its embedding (the pooled
features before the linear head) says more: cells of a class it was trained on gather
around that class's mean. Following Lee et al. (NeurIPS 2018), each class is a Gaussian
with one covariance shared by all classes, fitted on the training laboratory's cells;
a cell's score is its squared Mahalanobis distance to the nearest class mean, divided by
the embedding's dimension (about 1 for a typical training cell). A cell scoring above
the card's threshold is flagged for review with the reason ``unfamiliar``. A second
score (`fit_nearest`, Sun et al., ICML 2022) is the distance to the k-th nearest training
cell instead of the nearest class mean.

How strict the flag is, is the *review sensitivity* (`SENSITIVITIES`): the card holds one
threshold per level, each a quantile of the training laboratory's own validation cells'
scores. "standard" flags 1 % of them; "high" and "highest" (10 and 20 %) are for samples
where blasts or other abnormal cells are suspected: a cell type the classifier never
learnt resembles the nearest class it knows, and only a stricter threshold flags most of
it (`benchmarks/unseen_class.py`).

The fit (`fit`) runs once after training and is saved beside the model
(``<model>.unfamiliar.npz``, its sha256 in the model card); run time only loads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hemoscope.core import STANDARD_SENSITIVITY
from hemoscope.vision.blas import one_blas_thread
from hemoscope.vision.model_card import ModelError, file_sha256
from hemoscope.vision.order_stats import kth_largest_rows

F64 = npt.NDArray[np.float64]

SHRINKAGE = 0.1
"""Ledoit-Wolf style shrinkage of the shared covariance towards its mean variance: keeps
the whitening stable in directions the training cells hardly vary in."""


NEIGHBOURS = 10
"""The nearest-neighbour score's k: the distance to the k-th nearest training cell."""

GUARD_FACTOR = 2.0
"""With the nearest-neighbour score, a cell whose Mahalanobis score exceeds this multiple
of its standard threshold is unfamiliar whatever its neighbours: the cosine distance sees
only the embedding's direction, and bare glass points the way PBC's platelet images do
(its neighbours are close, its Mahalanobis distance 2.5 times the threshold). One PBC
validation cell reaches the guard (flagged by its neighbours anyway); of jiangxi's cells
3.3 % reach it, 0.7 % of them not flagged otherwise, of bionet's 11 %, all flagged
otherwise (shipped classifier)."""


STANDARD = STANDARD_SENSITIVITY
SENSITIVITIES: dict[str, float] = {STANDARD: 0.99, "high": 0.90, "highest": 0.80}
"""Review sensitivity levels: the quantile of the training laboratory's validation cells'
scores above which a cell is unfamiliar (1, 10 and 20 % of its own cells flagged)."""


def stricter(level: str, than: str) -> bool:
    """Whether review sensitivity ``level`` flags more cells than ``than`` (the order of
    `SENSITIVITIES`: standard, high, highest); unknown levels are not stricter."""
    order = list(SENSITIVITIES)
    return level in order and than in order and order.index(level) > order.index(than)


def sensitivity_text(level: str) -> str:
    """What a level means, for settings, stamps and help texts."""
    quantile = SENSITIVITIES.get(level)
    if quantile is None:
        return level
    return f"{level} ({1 - quantile:.0%} of the training laboratory's own cells unfamiliar)"


@dataclass(frozen=True)
class UnfamiliarModel:
    """Class means ``(K, D)``, a whitening matrix ``(D, D)`` (inverse square root of the
    shared covariance) and the score above which a cell is unfamiliar. With
    ``reference`` (the training cells' embeddings, normalised, `fit_nearest`) the score
    is the distance to the ``k``-th nearest of them instead (Sun et al., ICML 2022); the
    means and whitening still serve the cell map."""

    means: F64
    whiten: F64
    threshold: float
    reference: npt.NDArray[np.float32] | None = None
    k: int = NEIGHBOURS
    thresholds: Mapping[str, float] = field(default_factory=dict)
    """The threshold of each review sensitivity the card gives (`SENSITIVITIES`)."""
    sensitivity: str = STANDARD
    guard: float = np.inf
    """With a ``reference``: the Mahalanobis score above which a cell is unfamiliar
    whatever its nearest-neighbour score (`GUARD_FACTOR`); the same at every sensitivity."""

    def at(self, sensitivity: str) -> UnfamiliarModel:
        """The same statistics with the threshold of another review sensitivity; raises
        `ModelError` for a level the card has no threshold for."""
        if sensitivity not in SENSITIVITIES:
            known = ", ".join(SENSITIVITIES)
            raise ModelError(f"unknown review sensitivity '{sensitivity}' (known: {known})")
        if sensitivity == self.sensitivity:
            return self
        if sensitivity not in self.thresholds:
            raise ModelError(
                f"this classifier's card has no unfamiliar-cell threshold for the review "
                f"sensitivity '{sensitivity}'; refit its statistics with 'python -m "
                "hemoscope.training unfamiliar'"
            )
        return replace(self, threshold=float(self.thresholds[sensitivity]), sensitivity=sensitivity)

    @property
    def method(self) -> str:
        return "mahalanobis" if self.reference is None else "nearest"

    def scores(self, embedding: npt.ArrayLike) -> F64:
        """Per cell: squared Mahalanobis distance to the nearest class mean over D; or,
        with a reference, one minus the cosine similarity to the k-th nearest training
        cell."""
        e = np.asarray(embedding, dtype=np.float64)
        if e.ndim != 2 or e.shape[1] != self.means.shape[1]:
            raise ValueError(f"expected embeddings (N, {self.means.shape[1]}), got shape {e.shape}")
        if not len(e):
            return np.zeros(0)
        if self.reference is not None:
            return nearest_scores(e, self.reference, self.k)
        return self.mahalanobis(e)

    def mahalanobis(self, embedding: npt.ArrayLike) -> F64:
        """Per cell: squared Mahalanobis distance to the nearest class mean over D."""
        e = np.asarray(embedding, dtype=np.float64)
        zc = e @ self.whiten
        zm = self.means @ self.whiten
        d2 = (zc**2).sum(1)[:, None] - 2 * zc @ zm.T + (zm**2).sum(1)[None, :]
        out: F64 = np.maximum(d2.min(axis=1), 0.0) / self.means.shape[1]
        return out

    def beyond_guard(self, embedding: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Per cell: past the Mahalanobis guard of the nearest-neighbour score (all False
        without a guard)."""
        e = np.asarray(embedding, dtype=np.float64)
        if self.reference is None or not np.isfinite(self.guard) or not len(e):
            return np.zeros(len(e), bool)
        out: npt.NDArray[np.bool_] = self.mahalanobis(e) > self.guard
        return out

    def assess(self, embedding: npt.ArrayLike) -> tuple[F64, npt.NDArray[np.bool_]]:
        """Per cell: its score, and whether it is unfamiliar (the score above the
        threshold, or past the guard), the score computed once."""
        score = self.scores(embedding)
        odd: npt.NDArray[np.bool_] = (score > self.threshold) | self.beyond_guard(embedding)
        return score, odd

    def flags(self, embedding: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Per cell: unfamiliar (`assess`)."""
        return self.assess(embedding)[1]

    def save(self, path: Path) -> None:
        extra: dict[str, Any] = {}
        if self.reference is not None:
            extra = {"reference": self.reference.astype(np.float16), "k": self.k}
            if np.isfinite(self.guard):
                extra["guard"] = self.guard
        with path.open("wb") as f:
            np.savez(f, means=self.means, whiten=self.whiten, threshold=self.threshold, **extra)

    @classmethod
    def load(cls, path: Path, sha256: str | None = None) -> UnfamiliarModel:
        if not path.is_file():
            raise ModelError(f"the unfamiliar-cell statistics {path.name} are missing")
        if sha256 is not None and file_sha256(path) != sha256:
            raise ModelError(
                f"{path.name} does not match the classifier's card (sha256); the file is "
                "damaged or was replaced. Reinstall the application."
            )
        try:
            with np.load(path) as z:
                reference = z["reference"].astype(np.float32) if "reference" in z else None
                return cls(
                    np.asarray(z["means"], np.float64),
                    np.asarray(z["whiten"], np.float64),
                    float(z["threshold"]),
                    reference,
                    int(z["k"]) if "k" in z else NEIGHBOURS,
                    guard=float(z["guard"]) if "guard" in z else np.inf,
                )
        except (OSError, KeyError, ValueError) as exc:
            raise ModelError(f"{path.name} cannot be read: {exc}") from exc

    @classmethod
    def from_card(cls, model_path: Path, card: dict[str, Any]) -> UnfamiliarModel | None:
        """The statistics the card names (None for a model without them)."""
        entry = card.get("unfamiliar")
        if not isinstance(entry, dict):
            return None
        try:
            path = model_path.parent / str(entry["file"])
            model = cls.load(path, str(entry["sha256"]))
            threshold = float(entry["threshold"])
            levels = {str(k): float(v) for k, v in dict(entry.get("thresholds", {})).items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"the card's unfamiliar-cell entry lacks {exc}") from exc
        levels[STANDARD] = threshold
        return replace(model, threshold=threshold, thresholds=levels, sensitivity=STANDARD)


def fit(embedding: npt.ArrayLike, labels: npt.ArrayLike, n_classes: int) -> tuple[F64, F64]:
    """Class means and the whitening matrix of the shared covariance (shrunk by
    `SHRINKAGE`). Classes without a sample get the overall mean."""
    e = np.asarray(embedding, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if e.ndim != 2 or len(e) != len(y) or len(e) < 2:
        raise ValueError("need at least two embeddings with one label each")
    means = np.empty((n_classes, e.shape[1]))
    centred = np.empty_like(e)
    for k in range(n_classes):
        sel = y == k
        means[k] = e[sel].mean(axis=0) if sel.any() else e.mean(axis=0)
        centred[sel] = e[sel] - means[k]
    cov = centred.T @ centred / max(1, len(e) - n_classes)
    avg = float(np.trace(cov)) / cov.shape[0]
    cov = (1 - SHRINKAGE) * cov + SHRINKAGE * avg * np.eye(cov.shape[0])
    vals, vecs = np.linalg.eigh(cov)
    whiten = vecs @ np.diag(1.0 / np.sqrt(np.maximum(vals, 1e-12))) @ vecs.T
    return means, whiten


def fit_guard(validation_mahalanobis: npt.ArrayLike) -> float:
    """The nearest-neighbour score's guard (`GUARD_FACTOR`) from the Mahalanobis scores of
    the training laboratory's validation cells."""
    scores = np.asarray(validation_mahalanobis, dtype=np.float64)
    return GUARD_FACTOR * float(np.quantile(scores, SENSITIVITIES[STANDARD]))


def fit_nearest(embedding: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """The nearest-neighbour reference: the training cells' embeddings, normalised."""
    e = np.asarray(embedding, dtype=np.float32)
    if e.ndim != 2 or len(e) < NEIGHBOURS:
        raise ValueError(f"need at least {NEIGHBOURS} embeddings")
    unit = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    # Stored at half precision: fitted with exactly what run time will load.
    out: npt.NDArray[np.float32] = unit.astype(np.float16).astype(np.float32)
    return out


def nearest_scores(
    e: npt.ArrayLike, reference: npt.NDArray[np.float32], k: int = NEIGHBOURS
) -> F64:
    """One minus the cosine similarity of each row of ``e`` to its k-th nearest row of
    ``reference`` (`fit_nearest`)."""
    e = np.asarray(e, dtype=np.float64)
    q = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    q32 = q.astype(np.float32)
    out = np.empty(len(e))
    k = min(k, len(reference))
    # One BLAS thread: the product sits between two ONNX Runtime runs, whose threads
    # OpenBLAS's spinning ones would slow (measured: 7.8 against 6.5 ms a cell, 2 threads).
    with one_blas_thread():
        for s in range(0, len(q32), 256):
            sim = q32[s : s + 256] @ reference.T
            out[s : s + 256] = 1.0 - kth_largest_rows(sim, k)
    return out
