"""Cell thumbnails per class for the report's optional gallery page (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hemoscope.core import Case, Cell, CellKind, Taxonomy

from .crops import CropFunction, FieldImages, square_crop

__all__ = ["ClassThumbnails", "Thumbnail", "class_thumbnails"]

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """A square crop (BGR) of one cell and what it says about the cell."""

    image: Image
    field_id: str
    cell_id: str
    corrected: bool
    probability: float | None


@dataclass(frozen=True, slots=True)
class ClassThumbnails:
    """Thumbnails of one class: ``total`` cells counted, the first ``len(items)`` shown."""

    class_id: str
    display_name: str
    total: int
    items: tuple[Thumbnail, ...]


def class_thumbnails(
    case: Case,
    images: FieldImages,
    taxonomy: Taxonomy,
    *,
    per_class: int = 18,
    size: int = 128,
    crop: CropFunction | None = None,
) -> list[ClassThumbnails]:
    """Up to ``per_class`` crops of each white-cell class, in taxonomy order.

    Cells are taken in capture order; fields whose image is not available are skipped
    (their cells still count in ``total``). Each field image is read once.
    """
    cut: CropFunction = crop or square_crop
    totals: dict[str, int] = {}
    wanted: dict[str, list[tuple[str, Cell]]] = {}
    for fld, cell in case.iter_cells(CellKind.WBC):
        cid = cell.effective_class
        if cid is None or cid not in taxonomy or not cell.counted:
            continue  # out of the tally: already counted in another field, or cut
        totals[cid] = totals.get(cid, 0) + 1
        chosen = wanted.setdefault(cid, [])
        if len(chosen) < per_class:
            chosen.append((fld.id, cell))
    by_field: dict[str, list[tuple[str, Cell]]] = {}
    for cid, chosen in wanted.items():
        for fid, cell in chosen:
            by_field.setdefault(fid, []).append((cid, cell))
    crops: dict[str, Thumbnail] = {}
    for fid, cells in by_field.items():
        image = images(fid)
        if image is None:
            continue
        for _, cell in cells:
            crops[cell.id] = Thumbnail(
                cut(image, cell.box, size), fid, cell.id, cell.corrected, cell.probability
            )
    result: list[ClassThumbnails] = []
    for cls in taxonomy:
        if cls.id not in totals:
            continue
        items = tuple(crops[c.id] for _, c in wanted[cls.id] if c.id in crops)
        result.append(ClassThumbnails(cls.id, cls.display_name, totals[cls.id], items))
    return result
