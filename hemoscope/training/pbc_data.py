"""Single-cell image folders (PBC layout) for the classifier: loading and the fixed split."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

import numpy as np

from hemoscope.vision.datasets import Sample, list_samples, load_rgb

__all__ = ["Sample", "list_samples", "load_all", "load_rgb", "stratified_split"]

log = logging.getLogger(__name__)


def _rank(name: str, seed: int) -> str:
    return hashlib.sha1(f"{seed}:{name}".encode()).hexdigest()


def stratified_split(
    samples: Sequence[Sample], val_fraction: float, seed: int
) -> tuple[list[Sample], list[Sample]]:
    """Per class, the files whose seeded hash ranks lowest go to validation.

    The split depends only on the seed and the file names, so it stays fixed when the
    folder is read again or other files are added.
    """
    train: list[Sample] = []
    val: list[Sample] = []
    labels = sorted({s.label for s in samples})
    for label in labels:
        group = sorted(
            (s for s in samples if s.label == label), key=lambda s: _rank(s.path.name, seed)
        )
        n_val = max(1, round(len(group) * val_fraction)) if len(group) > 1 else 0
        val += group[:n_val]
        train += group[n_val:]
    return train, val


def load_all(samples: Sequence[Sample]) -> list[np.ndarray]:
    images = []
    for s in samples:
        images.append(load_rgb(s.path))
    log.info("loaded %d images", len(images))
    return images
