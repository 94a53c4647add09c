"""Single-cell image folders (PBC layout) for the classifier: loading and the fixed split."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from hemoscope.vision.datasets import Sample, list_samples, load_rgb, stratified_split

__all__ = ["Sample", "list_samples", "load_all", "load_rgb", "stratified_split"]

log = logging.getLogger(__name__)


def load_all(samples: Sequence[Sample]) -> list[np.ndarray]:
    images = []
    for s in samples:
        images.append(load_rgb(s.path))
    log.info("loaded %d images", len(images))
    return images
