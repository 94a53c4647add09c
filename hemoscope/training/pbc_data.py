"""Single-cell image folders (PBC layout) for the classifier: loading and the fixed split."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from hemoscope.vision.datasets import Sample, list_samples, load_rgb, stratified_split

__all__ = ["Sample", "list_samples", "load_all", "load_rgb", "stratified_split"]

log = logging.getLogger(__name__)


def load_all(samples: Sequence[Sample]) -> list[np.ndarray]:
    """Each sample's image; a file listed several times (``--extra FOLDER:REPEAT``) is
    decoded once and its samples share the array."""
    decoded: dict[str, np.ndarray] = {}
    images = []
    for s in samples:
        key = str(s.path)
        if key not in decoded:
            decoded[key] = load_rgb(s.path)
        images.append(decoded[key])
    log.info("loaded %d images (%d files)", len(images), len(decoded))
    return images
