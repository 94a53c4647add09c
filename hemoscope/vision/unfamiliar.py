"""The "unfamiliar cell" signal: how far a cell's embedding lies from every known class.

The classifier names one of its classes for every crop, even for a blast, a smudge cell,
debris or a cell out of focus, which belong to none of them. Its embedding (the pooled
features before the linear head) says more: cells of a class it was trained on gather
around that class's mean. Following Lee et al. (NeurIPS 2018), each class is a Gaussian
with one covariance shared by all classes, fitted on the training laboratory's cells;
a cell's score is its squared Mahalanobis distance to the nearest class mean, divided by
the embedding's dimension (about 1 for a typical training cell). A cell scoring above
the card's threshold is flagged for review with the reason ``unfamiliar``.

The fit (`fit`) runs once after training and is saved beside the model
(``<model>.unfamiliar.npz``, its sha256 in the model card); run time only loads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hemoscope.vision.model_card import ModelError, file_sha256

F64 = npt.NDArray[np.float64]

SHRINKAGE = 0.1
"""Ledoit-Wolf style shrinkage of the shared covariance towards its mean variance: keeps
the whitening stable in directions the training cells hardly vary in."""


@dataclass(frozen=True)
class UnfamiliarModel:
    """Class means ``(K, D)``, a whitening matrix ``(D, D)`` (inverse square root of the
    shared covariance) and the score above which a cell is unfamiliar."""

    means: F64
    whiten: F64
    threshold: float

    def scores(self, embedding: npt.ArrayLike) -> F64:
        """Per cell: squared Mahalanobis distance to the nearest class mean over D."""
        e = np.asarray(embedding, dtype=np.float64)
        if e.ndim != 2 or e.shape[1] != self.means.shape[1]:
            raise ValueError(f"expected embeddings (N, {self.means.shape[1]}), got shape {e.shape}")
        if not len(e):
            return np.zeros(0)
        zc = e @ self.whiten
        zm = self.means @ self.whiten
        d2 = (zc**2).sum(1)[:, None] - 2 * zc @ zm.T + (zm**2).sum(1)[None, :]
        out: F64 = np.maximum(d2.min(axis=1), 0.0) / self.means.shape[1]
        return out

    def flags(self, embedding: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        return self.scores(embedding) > self.threshold

    def save(self, path: Path) -> None:
        with path.open("wb") as f:
            np.savez(f, means=self.means, whiten=self.whiten, threshold=self.threshold)

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
                return cls(
                    np.asarray(z["means"], np.float64),
                    np.asarray(z["whiten"], np.float64),
                    float(z["threshold"]),
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
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"the card's unfamiliar-cell entry lacks {exc}") from exc
        return cls(model.means, model.whiten, threshold)


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
