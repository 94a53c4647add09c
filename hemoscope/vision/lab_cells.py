"""One laboratory's labelled cells, cut as the station cuts them, for `vision.lab_adapt`.

- `from_folder`: an ImageFolder (one sub-folder per class, named through the taxonomy as
  ``hemoscope evaluate`` names them) of single-cell images, framed as ``hemoscope
  classify`` frames them (`single_cell.frame_single_cell`), or of fields with one
  labelled white cell near the centre, analysed as ``hemoscope analyze`` does (the white
  cell found nearest the centre is the labelled one);
- `from_fields`: white cells with a human class in stored fields (the case database's
  verified cells, see `hemoscope.store.verified`), cut by the crop rule at their field's
  red-cell scale, exactly as the pipeline cut them.

Images that cannot be read, and fields or images where no white cell is found, are
listed in ``skipped`` with the reason, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from hemoscope.core import DEFAULT_TAXONOMY, Cell, CellKind, Taxonomy
from hemoscope.vision.crops import rbc_diameter
from hemoscope.vision.datasets import image_files, load_rgb, map_folders
from hemoscope.vision.lab_adapt import AdaptError

__all__ = [
    "Kind",
    "LabCells",
    "class_index",
    "field_crops",
    "field_rbc_scale",
    "from_fields",
    "from_folder",
]

U8 = npt.NDArray[np.uint8]
Kind = Literal["cells", "fields"]
Progress = Callable[[int, int], None]


@dataclass
class LabCells:
    """Crops (N, S, S, 3) RGB, the class index of each, where each came from, and what
    was skipped and why."""

    classes: tuple[str, ...]
    crops: list[U8] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # cells held back together (a case)
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    def add(self, crop: U8, label: int, source: str, group: str = "") -> None:
        self.crops.append(crop)
        self.labels.append(label)
        self.sources.append(source)
        self.groups.append(group or source)

    def array(self) -> U8:
        if not self.crops:
            return np.zeros((0, 1, 1, 3), np.uint8)
        return np.stack(self.crops)

    def counts(self) -> dict[str, int]:
        n = np.bincount(np.asarray(self.labels, np.int64), minlength=len(self.classes))
        return {c: int(k) for c, k in zip(self.classes, n, strict=True) if k}


def class_index(
    class_id: str, classes: Sequence[str], taxonomy: Taxonomy = DEFAULT_TAXONOMY
) -> int | None:
    """The classifier's index of a taxonomy class (a band neutrophil counts as a
    neutrophil, as `datasets.map_folders` maps folders); None when it has none."""
    cid = class_id if class_id in taxonomy else taxonomy.resolve(class_id)
    if cid is not None and cid not in classes:
        cid = taxonomy.group_of(cid)
    return list(classes).index(cid) if cid is not None and cid in classes else None


def from_folder(
    root: Path,
    kind: Kind,
    classifier: Any,
    *,
    finder: Any = None,
    pipeline: Any = None,
    limit: int | None = None,
    progress: Progress | None = None,
) -> LabCells:
    """The labelled cells of an ImageFolder. ``kind="cells"`` needs ``finder`` (a
    detector; None frames the whole image), ``"fields"`` a ``pipeline``. Raises
    `AdaptError` for a folder that is missing or has sub-folders no class matches."""
    from hemoscope.vision.single_cell import frame_single_cell

    classes = tuple(classifier.classes)
    try:
        mapping = map_folders(root, classes)
    except FileNotFoundError as exc:
        raise AdaptError(str(exc)) from exc
    if mapping.unmatched:
        raise AdaptError(
            f"{root}: the folder name(s) {', '.join(repr(u) for u in mapping.unmatched)} match "
            f"no class of the classifier ({', '.join(classes)}); rename or remove them"
        )
    samples = [
        (p, lbl) for folder, lbl in mapping.labels.items() for p in image_files(root / folder)
    ]
    if limit is not None:
        samples = samples[:limit]
    out = LabCells(classes)
    for i, (path, label) in enumerate(samples):
        try:
            rgb = load_rgb(path)
        except (OSError, ValueError) as exc:
            out.skipped.append(f"{path}: cannot be read ({exc})")
            continue
        if kind == "cells":
            crop, _ = frame_single_cell(
                rgb, classifier.input_size, classifier.crop_scale, finder, "rgb"
            )
            out.add(crop, label, str(path))
        else:
            found = _centre_cell(pipeline, rgb, path.name)
            if found is None:
                out.skipped.append(f"{path}: no white cell found")
            else:
                out.add(found, label, str(path))
        if progress:
            progress(i + 1, len(samples))
    return out


def _centre_cell(pipeline: Any, rgb: U8, source: str) -> U8 | None:
    fld = pipeline.analyze(rgb, "rgb", source=source)
    h, w = rgb.shape[:2]
    white = [c for c in fld.cells if c.kind is CellKind.WBC and c.auto_class is not None]
    if not white:
        return None
    cell = min(white, key=lambda c: (c.box.x1 + c.box.x2 - w) ** 2 + (c.box.y1 + c.box.y2 - h) ** 2)
    crops: U8 = field_crops(pipeline.classifier, rgb, [cell], fld.cells)
    first: U8 = crops[0]
    return first


def field_rbc_scale(rgb: U8, all_cells: Iterable[Cell]) -> float | None:
    """The field's red-cell diameter (`crops.rbc_diameter`) from its detected red cells;
    None when too few to tell."""
    h, w = rgb.shape[:2]
    rbc_boxes = [c.box.as_tuple() for c in all_cells if c.kind is CellKind.RBC]
    return rbc_diameter(np.asarray(rbc_boxes, np.float64).reshape(-1, 4), w, h)


def field_crops(classifier: Any, rgb: U8, cells: Sequence[Cell], all_cells: Iterable[Cell]) -> U8:
    """The crop rule's crops of ``cells`` at the scale of the field's red cells."""
    boxes = np.asarray([c.box.as_tuple() for c in cells], np.float64).reshape(-1, 4)
    out: U8 = classifier.crops_for_boxes(rgb, boxes, field_rbc_scale(rgb, all_cells))
    return out


def from_fields(
    fields: Iterable[tuple[str, str, Sequence[Cell], Sequence[Cell], U8 | None]],
    classifier: Any,
    taxonomy: Taxonomy = DEFAULT_TAXONOMY,
) -> LabCells:
    """Cells with a human class from stored fields: each item is (a name for messages,
    its case (cells of one case are held back together when validating), the field's
    verified cells, all its cells, its RGB image or None when missing)."""
    classes = tuple(classifier.classes)
    out = LabCells(classes)
    foreign: dict[str, int] = {}
    for name, case, verified, all_cells, rgb in fields:
        keep: list[tuple[Cell, int]] = []
        for cell in verified:
            idx = class_index(cell.final_class or "", classes, taxonomy)
            if idx is None:
                foreign[cell.final_class or "?"] = foreign.get(cell.final_class or "?", 0) + 1
            else:
                keep.append((cell, idx))
        if not keep:
            continue
        if rgb is None:
            out.skipped.append(f"{name}: the field's image is missing ({len(keep)} cells)")
            continue
        crops = field_crops(classifier, rgb, [c for c, _ in keep], all_cells)
        for crop, (cell, idx) in zip(crops, keep, strict=True):
            out.add(crop, idx, f"{name}/{cell.id[:8]}", case)
    for cls, n in sorted(foreign.items()):
        out.skipped.append(f"{n} verified cell(s) of class '{cls}', which the classifier lacks")
    return out
