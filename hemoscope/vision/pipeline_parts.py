"""The parts of the pipeline's interface: what it needs from its models, what it returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from hemoscope.core import CellKind, Embedding, Field, Taxonomy
from hemoscope.vision.classifier import Classification
from hemoscope.vision.detector import Detections
from hemoscope.vision.image_input import Channels
from hemoscope.vision.model_card import ModelError

__all__ = [
    "ClassifierLike",
    "DetectorLike",
    "FrameAnalysis",
    "cell_embedding",
    "classifier_ids",
    "detector_kinds",
]

U8 = npt.NDArray[np.uint8]


class DetectorLike(Protocol):
    """What the pipeline needs from a detector (`Detector` is one)."""

    names: tuple[str, ...]

    def detect(self, image: npt.NDArray[np.generic], channels: Channels = "bgr") -> Detections: ...


class ClassifierLike(Protocol):
    """What the pipeline needs from a white-cell classifier (`Classifier` is one)."""

    classes: tuple[str, ...]
    crop_scale: float

    @property
    def review_threshold(self) -> float: ...

    def crops_for_boxes(
        self, image_rgb: U8, boxes: npt.ArrayLike, rbc: float | None = None
    ) -> U8: ...

    def classify_crops(self, crops: U8 | Sequence[U8]) -> Classification: ...


@dataclass(frozen=True)
class FrameAnalysis:
    """A field and what the models said beyond it.

    ``wbc_ids`` are the ids of the classified cells, in field order; row *i* of
    ``probabilities`` (calibrated, columns ``classes``, taxonomy ids) and of
    ``embedding`` belongs to ``wbc_ids[i]``.
    """

    field: Field
    wbc_ids: tuple[str, ...]
    probabilities: npt.NDArray[np.float64]
    embedding: npt.NDArray[np.float32]
    classes: tuple[str, ...]
    tiles: int
    detect_s: float
    classify_s: float


def detector_kinds(names: Sequence[str]) -> tuple[CellKind, ...]:
    kinds = []
    for name in names:
        kind = CellKind.resolve(name)
        if kind is None:
            raise ModelError(f"the detector's class {name!r} is not a known cell kind")
        kinds.append(kind)
    return tuple(kinds)


def classifier_ids(classes: Sequence[str], taxonomy: Taxonomy) -> tuple[str, ...]:
    """Taxonomy ids of the classifier's classes (ids, names or aliases are accepted)."""
    ids = []
    for name in classes:
        class_id = name if name in taxonomy else taxonomy.resolve(name)
        if class_id is None:
            raise ModelError(
                f"the classifier's class {name!r} is not in the cell taxonomy "
                f"({', '.join(taxonomy.ids)})"
            )
        ids.append(class_id)
    return tuple(ids)


def cell_embedding(emb: npt.NDArray[np.float32], row: int) -> Embedding | None:
    """Row ``row`` of the classifier's embeddings (N, D), to keep on the cell (float16);
    None when the classifier gave none, or a non-finite one."""
    if emb.ndim != 2 or row >= len(emb) or not emb.shape[1]:
        return None
    vector = emb[row]
    return Embedding.from_vector(vector) if np.isfinite(vector).all() else None
