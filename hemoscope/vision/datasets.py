"""Reading labelled image sets: ImageFolder trees (one folder per class) and YOLO layouts.

Used by evaluation at run time and by training; no torch here.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from hemoscope.core.taxonomy import DEFAULT_TAXONOMY, Taxonomy

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})


@dataclass(frozen=True)
class Sample:
    path: Path
    label: int


@dataclass(frozen=True)
class FolderMapping:
    """How the sub-folders of an ImageFolder tree map to a model's classes."""

    labels: dict[str, int]  # folder name -> class index
    unmatched: tuple[str, ...]  # folders that match no class of the model
    via_parent: dict[str, str]  # folder -> model class reached through `counted_as`


def map_folders(
    root: Path, classes: Sequence[str], taxonomy: Taxonomy = DEFAULT_TAXONOMY
) -> FolderMapping:
    """Map folder names to class indices through the taxonomy, case-insensitively.

    A folder whose class the model does not predict but which counts as one it does
    (a band neutrophil counts as a neutrophil) maps to that class; the rest are
    reported as unmatched, never dropped silently.
    """
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    labels: dict[str, int] = {}
    unmatched: list[str] = []
    via: dict[str, str] = {}
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        cid = taxonomy.resolve(d.name)
        if cid is not None and cid not in classes:
            parent = taxonomy.group_of(cid)
            if parent in classes:
                via[d.name] = parent
                cid = parent
        if cid is not None and cid in classes:
            labels[d.name] = list(classes).index(cid)
        else:
            unmatched.append(d.name)
    return FolderMapping(labels, tuple(unmatched), via)


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def list_samples(root: Path, classes: Sequence[str]) -> tuple[list[Sample], list[str]]:
    mapping = map_folders(root, classes)
    samples = [
        Sample(p, label)
        for folder, label in mapping.labels.items()
        for p in image_files(root / folder)
    ]
    return samples, list(mapping.unmatched)


def load_rgb(path: Path) -> npt.NDArray[np.uint8]:
    """Decode an image file to RGB (works with non-ASCII paths)."""
    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise ValueError(f"cannot decode image {path}")
    return np.asarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), np.uint8)


def read_yolo_labels(
    path: Path, width: int, height: int, num_classes: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Boxes (N, 4) x1 y1 x2 y2 in pixels and classes from a YOLO label file.

    A missing file means no objects; malformed lines are logged and skipped.
    """
    boxes: list[list[float]] = []
    classes: list[int] = []
    if path.exists():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            try:
                c = int(float(parts[0]))
                cx, cy, w, h = (float(v) for v in parts[1:5])
            except ValueError:
                log.warning("%s:%d: expected 'class cx cy w h', skipped", path, n)
                continue
            if len(parts) < 5 or not 0 <= c < num_classes:
                log.warning("%s:%d: bad class or too few values, skipped", path, n)
                continue
            boxes.append(
                [
                    (cx - w / 2) * width,
                    (cy - h / 2) * height,
                    (cx + w / 2) * width,
                    (cy + h / 2) * height,
                ]
            )
            classes.append(c)
    b = np.array(boxes, np.float32).reshape(-1, 4)
    b[:, [0, 2]] = b[:, [0, 2]].clip(0, width)
    b[:, [1, 3]] = b[:, [1, 3]].clip(0, height)
    return b, np.array(classes, np.int64)


def yolo_image_dirs(root: Path, split: str | None) -> list[tuple[Path, Path]]:
    """(images, labels) folder pairs of a YOLO layout.

    Accepts ``root/images/*.jpg`` (flat) or ``root/images/<split>/*.jpg``; with no
    split given, a flat layout is used if present, else ``val``, else every split.
    """
    images = root / "images"
    if not images.is_dir():
        raise FileNotFoundError(f"{root} has no images/ folder (expected a YOLO layout)")
    if split:
        if not (images / split).is_dir():
            raise FileNotFoundError(f"{images / split} not found")
        return [(images / split, root / "labels" / split)]
    if image_files(images):
        return [(images, root / "labels")]
    if (images / "val").is_dir():
        return [(images / "val", root / "labels" / "val")]
    splits = sorted(p.name for p in images.iterdir() if p.is_dir())
    if not splits:
        raise FileNotFoundError(f"no images under {images}")
    return [(images / s, root / "labels" / s) for s in splits]


def iter_yolo(
    root: Path, split: str | None, num_classes: int
) -> Iterator[tuple[Path, npt.NDArray[np.uint8], npt.NDArray[np.float32], npt.NDArray[np.int64]]]:
    """Yield (path, RGB image, boxes, classes) one image at a time."""
    for img_dir, lab_dir in yolo_image_dirs(root, split):
        for p in image_files(img_dir):
            img = load_rgb(p)
            h, w = img.shape[:2]
            boxes, classes = read_yolo_labels(lab_dir / (p.stem + ".txt"), w, h, num_classes)
            yield p, img, boxes, classes


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
