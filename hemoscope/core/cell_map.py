"""The cell map: each classified white cell of a case placed in 2-D by a fixed linear
projection of its classifier embedding.

Why a fixed linear projection, and why this one. t-SNE and UMAP fit the layout to the
cells at hand: add one cell and every point may move (and they take seconds for a
thousand cells, with a random start). PCA of the case's own cells is instant but still
turns when a cell is added. A projection fixed by the *model* moves nothing: a cell's
place depends on its embedding alone, so the map of a case only gains points as the
count goes on, the same cell lands on the same spot in every case, and a map of 1,000
cells is one (1000 x 192) @ (192 x 2) product (well under a millisecond).

The plane is a discriminant plane of the training distribution, from the statistics
the classifier ships for its unfamiliar-cell check (`vision.unfamiliar`: the class means
and the whitening matrix of the shared within-class covariance). In the whitened space
every class is a unit sphere, so the map's unit is one within-class standard deviation:
a cell three units from its class's centre sits apart from it, whatever the class.
Plain Fisher discriminant axes (the principal axes of the whitened means) are pulled by
the classes furthest from the rest (eosinophils and platelets) and crowd the other six
together; the principal axes of the raw training distribution follow directions in
which the cells of every class merely vary. The pairwise-weighted criterion of Loog,
Duin and Haeb-Umbach (aPAC, IEEE PAMI 2001) weights each pair of classes by how much it
still stands to gain from being separated, which spreads all eight. Measured on 200
cells of the training laboratory (25 a class, classifier embeddings): the class of the
nearest centre on the map is the cell's class for 94 % of them with these axes, 84 %
with plain Fisher axes and 86 % with the top-2 principal axes of the training
distribution. The training classes' centres are drawn as reference points. A cell far
from every centre in the full embedding may still land near one on the map (two
dimensions cannot show all 192): the "unfamiliar" mark comes from the full distance,
not from the map.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .case import Case
from .cells import Field
from .embedding import stack_embeddings
from .review import REASON_UNFAMILIAR

__all__ = ["CellMap", "MapPoint", "MapProjection", "cell_map"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MapProjection:
    """``(x, y) = (e - origin) @ axes`` for an embedding ``e`` of dimension D; ``centres``
    are the training classes' means on the map (K, 2), ``classes`` their names."""

    origin: F64
    axes: F64
    classes: tuple[str, ...]
    centres: F64
    model_sha256: str = ""
    """The classifier whose embeddings the map places ("" : any of the right size)."""

    def places(self, fld: Field) -> bool:
        """Whether ``fld``'s embeddings are this projection's model's: a field stamped
        with other models only (analysed before a model update) is not placed."""
        if not self.model_sha256 or not fld.models:
            return True
        return any(m.sha256 == self.model_sha256 for m in fld.models)

    @property
    def dim(self) -> int:
        return int(self.axes.shape[0])

    @classmethod
    def discriminant(
        cls,
        means: npt.ArrayLike,
        whiten: npt.ArrayLike,
        classes: Sequence[str],
        model_sha256: str = "",
    ) -> MapProjection:
        """The aPAC discriminant plane of class means (K, D) under a whitening matrix
        (D, D): the top two eigenvectors of the between-class scatter of the whitened
        means, each pair weighted by erf(d / 2√2) / 2d² (d: the pair's distance)."""
        m = np.asarray(means, dtype=np.float64)
        w = np.asarray(whiten, dtype=np.float64)
        if m.ndim != 2 or m.shape[0] < 3 or w.shape != (m.shape[1], m.shape[1]):
            raise ValueError(
                f"need (K >= 3, D) means and a (D, D) whitening, got {m.shape}, {w.shape}"
            )
        if len(classes) != m.shape[0]:
            raise ValueError(f"{len(classes)} class names for {m.shape[0]} means")
        origin = m.mean(axis=0)
        zm = (m - origin) @ w
        scatter = np.zeros((zm.shape[1], zm.shape[1]))
        for i in range(len(zm)):
            for j in range(i + 1, len(zm)):
                d = zm[i] - zm[j]
                dist = float(np.linalg.norm(d))
                if dist > 0:
                    scatter += math.erf(dist / (2 * math.sqrt(2))) / (2 * dist**2) * np.outer(d, d)
        _, vecs = np.linalg.eigh(scatter)
        plane = vecs[:, [-1, -2]]  # (D, 2), orthonormal in the whitened space
        # an axis's sign is arbitrary: the class furthest along it lies on its positive side
        along = zm @ plane
        signs = np.sign(along[np.abs(along).argmax(axis=0), [0, 1]])
        axes = w @ (plane * np.where(signs == 0, 1.0, signs))
        return cls(origin, axes, tuple(classes), (m - origin) @ axes, model_sha256)

    def project(self, vectors: npt.ArrayLike) -> F64:
        """Map positions (N, 2) of embeddings (N, D)."""
        e = np.asarray(vectors, dtype=np.float64)
        if e.ndim != 2 or (len(e) and e.shape[1] != self.dim):
            raise ValueError(f"expected embeddings (N, {self.dim}), got shape {e.shape}")
        if not len(e):
            return np.zeros((0, 2))
        out: F64 = (e - self.origin) @ self.axes
        return out


@dataclass(frozen=True)
class MapPoint:
    """One cell on the map: where it is and how it is drawn."""

    field_id: str
    cell_id: str
    class_id: str
    flagged: bool
    unfamiliar: bool
    corrected: bool


@dataclass(frozen=True)
class CellMap:
    """The map of a case: ``points[i]`` at ``xy[i]``; ``missing``: classified white cells
    without an embedding (saved before embeddings were kept, or of another dimension),
    which are not on the map."""

    points: tuple[MapPoint, ...]
    xy: F64
    missing: int

    def __len__(self) -> int:
        return len(self.points)


def cell_map(case: Case | None, projection: MapProjection) -> CellMap:
    """Every classified cell of ``case`` (those with a classifier class) that carries an
    embedding of the projection's dimension, in field and cell order."""
    points: list[MapPoint] = []
    embeddings = []
    missing = 0
    for fld in case.fields if case is not None else ():
        placed = projection.places(fld)
        for cell in fld.cells:
            if cell.auto_class is None:
                continue
            emb = cell.embedding
            if emb is None or emb.dim != projection.dim or not placed:
                missing += 1
                continue
            embeddings.append(emb)
            points.append(
                MapPoint(
                    fld.id,
                    cell.id,
                    cell.effective_class or cell.auto_class,
                    cell.review,
                    cell.flagged_for(REASON_UNFAMILIAR),
                    cell.corrected,
                )
            )
    xy = projection.project(stack_embeddings(embeddings)) if points else np.zeros((0, 2))
    return CellMap(tuple(points), xy, missing)
