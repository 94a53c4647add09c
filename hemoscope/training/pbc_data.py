"""Single-cell image folders (PBC layout) for the classifier: loading and the fixed split."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hemoscope.core.taxonomy import DEFAULT_TAXONOMY

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}


@dataclass(frozen=True)
class Sample:
    path: Path
    label: int


def discover_classes(root: Path, classes: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """Map sub-folder names to class indices through the taxonomy (case-insensitive).

    Returns the mapping and the folders that match no class (reported, never dropped
    silently by the caller).
    """
    mapping: dict[str, int] = {}
    unknown: list[str] = []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        cid = DEFAULT_TAXONOMY.resolve(d.name)
        if cid is not None and cid in classes:
            mapping[d.name] = list(classes).index(cid)
        else:
            unknown.append(d.name)
    return mapping, unknown


def list_samples(root: Path, classes: Sequence[str]) -> tuple[list[Sample], list[str]]:
    mapping, unknown = discover_classes(root, classes)
    samples = [
        Sample(p, label)
        for folder, label in mapping.items()
        for p in sorted((root / folder).iterdir())
        if p.suffix.lower() in IMAGE_SUFFIXES
    ]
    return samples, unknown


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
        group = sorted((s for s in samples if s.label == label), key=lambda s: _rank(s.path.name, seed))
        n_val = max(1, round(len(group) * val_fraction)) if len(group) > 1 else 0
        val += group[:n_val]
        train += group[n_val:]
    return train, val


def load_rgb(path: Path) -> np.ndarray:
    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"cannot decode image {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def load_all(samples: Sequence[Sample]) -> list[np.ndarray]:
    images = []
    for s in samples:
        images.append(load_rgb(s.path))
    log.info("loaded %d images", len(images))
    return images
