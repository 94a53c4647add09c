"""Cell thumbnails per class for the report's optional gallery page (numpy only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hemoscope.core import Case, Cell, CellKind, Taxonomy

from .crops import CropFunction, FieldImages, square_crop

__all__ = ["CellMapImages", "ClassThumbnails", "Thumbnail", "class_thumbnails", "thumbnail_cells"]

Image = npt.NDArray[np.uint8]
#: ``(field id, cell id) -> (BGR picture of the cell with its class's heat map, the class
#: named)``, or None when the cell has none: made by the caller, who may run models.
CellMapImages = Callable[[str, str], tuple[Image, str] | None]


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """A square crop (BGR) of one cell and what it says about the cell."""

    image: Image
    field_id: str
    cell_id: str
    corrected: bool
    probability: float | None
    class_map: Image | None = None  # the cell with its class's heat map (BGR)
    map_label: str = ""  # whose map it is


@dataclass(frozen=True, slots=True)
class ClassThumbnails:
    """Thumbnails of one class: ``total`` cells counted, the first ``len(items)`` shown."""

    class_id: str
    display_name: str
    total: int
    items: tuple[Thumbnail, ...]


def thumbnail_cells(
    case: Case, taxonomy: Taxonomy, per_class: int = 18
) -> tuple[dict[str, int], dict[str, list[tuple[str, Cell]]]]:
    """The cells the gallery page shows: per class, how many are counted and the first
    ``per_class`` of them (field id, cell), in capture order."""
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
    return totals, wanted


def class_thumbnails(
    case: Case,
    images: FieldImages,
    taxonomy: Taxonomy,
    *,
    per_class: int = 18,
    size: int = 128,
    crop: CropFunction | None = None,
    maps: CellMapImages | None = None,
) -> list[ClassThumbnails]:
    """Up to ``per_class`` crops of each white-cell class, in taxonomy order, each with
    its heat map when ``maps`` gives one.

    Cells are taken in capture order; fields whose image is not available are skipped
    (their cells still count in ``total``). Each field image is read once.
    """
    cut: CropFunction = crop or square_crop
    totals, wanted = thumbnail_cells(case, taxonomy, per_class)
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
            found = maps(fid, cell.id) if maps is not None else None
            crops[cell.id] = Thumbnail(
                cut(image, cell.box, size), fid, cell.id, cell.corrected, cell.probability,
                None if found is None else found[0], "" if found is None else found[1],
            )  # fmt: skip
    result: list[ClassThumbnails] = []
    for cls in taxonomy:
        if cls.id not in totals:
            continue
        items = tuple(crops[c.id] for _, c in wanted[cls.id] if c.id in crops)
        result.append(ClassThumbnails(cls.id, cls.display_name, totals[cls.id], items))
    return result
