"""What the cell gallery shows: the case's cells grouped by class, and their crops. No Qt.

Like CellaVision's cell view, every white cell of the case (and anything classified or
added by hand) is shown as a thumbnail under its class, classes in taxonomy order, then
"Unclassified"; cells out of the tally (already counted in an earlier field, cut by the
edge) are left out, so that no cell shows twice. `cell_crop` cuts a square round a
cell, padded with the background colour where the square leaves the image.
`cell_tooltip` is a thumbnail's tooltip: the classifier's and the technician's calls,
and why the cell was flagged for review.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from hemoscope.core import Box, Case, Cell, Taxonomy, reason_description, split_reasons
from hemoscope.ui.review.review_model import flag_labels, reading_order

__all__ = [
    "UNCLASSIFIED",
    "GalleryEntry",
    "GalleryGroup",
    "background",
    "cell_crop",
    "cell_tooltip",
    "gallery_groups",
]

UNCLASSIFIED = ""
Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class GalleryEntry:
    field_id: str
    field_number: int  # from 1, in capture order
    cell: Cell


@dataclass(frozen=True)
class GalleryGroup:
    class_id: str  # UNCLASSIFIED for cells without a class
    entries: tuple[GalleryEntry, ...]


def gallery_groups(case: Case | None, taxonomy: Taxonomy) -> list[GalleryGroup]:
    """A group for every class of the taxonomy (empty ones too: they are drop targets),
    then one for unclassified cells when there are any."""
    by_class: dict[str, list[GalleryEntry]] = {c.id: [] for c in taxonomy}
    loose: list[GalleryEntry] = []
    if case is not None:
        for number, field in enumerate(case.fields, start=1):
            for cell in reading_order(field):
                if not cell.counted:
                    continue  # already shown where it was counted, or cut by the edge
                entry = GalleryEntry(field.id, number, cell)
                class_id = cell.effective_class
                if class_id is not None and class_id in by_class:
                    by_class[class_id].append(entry)
                else:
                    loose.append(entry)
    groups = [GalleryGroup(c.id, tuple(by_class[c.id])) for c in taxonomy]
    if loose:
        groups.append(GalleryGroup(UNCLASSIFIED, tuple(loose)))
    return groups


def background(image: Image) -> tuple[int, int, int]:
    """The typical colour of a field (the median of a coarse grid of its pixels)."""
    h, w = image.shape[:2]
    grid = image[:: max(1, h // 16), :: max(1, w // 16), :3].reshape(-1, 3)
    b, g, r = (int(v) for v in np.median(grid, axis=0))
    return b, g, r


def cell_crop(
    image: Image,
    box: Box,
    size: int = 72,
    context: float = 1.3,
    fill: tuple[int, int, int] | None = None,
) -> Image:
    """A `size` x `size` BGR crop centred on `box`, `context` times its longer side;
    where it leaves the image it is padded with `fill` (default: `background(image)`)."""
    if size <= 0:
        raise ValueError("size must be > 0")
    h, w = image.shape[:2]
    cx, cy = box.centre
    side = max(4.0, max(box.width, box.height) * context)
    x0, y0 = round(cx - side / 2), round(cy - side / 2)
    s = max(1, round(side))
    out = np.empty((s, s, 3), np.uint8)
    out[:] = background(image) if fill is None else fill
    sx0, sy0 = max(0, x0), max(0, y0)
    sx1, sy1 = min(w, x0 + s), min(h, y0 + s)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = image[sy0:sy1, sx0:sx1, :3]
    interpolation = cv2.INTER_AREA if s > size else cv2.INTER_LINEAR
    return np.ascontiguousarray(cv2.resize(out, (size, size), interpolation=interpolation))


def cell_tooltip(cell: Cell, field_number: int, taxonomy: Taxonomy) -> str:
    """A thumbnail's tooltip: its field, the calls made on it, and why it was flagged
    ("Flagged for review:" and each reason explained while it awaits a decision, "Was
    flagged: ..." after one)."""
    lines = [f"Field {field_number}"]
    if cell.auto_class is not None:
        auto = taxonomy.get(cell.auto_class)
        name = auto.display_name if auto is not None else cell.auto_class
        prob = f" ({cell.probability * 100:.0f}%)" if cell.probability is not None else ""
        lines.append(f"Classifier: {name}{prob}")
    if cell.final_class is not None:
        final = taxonomy.get(cell.final_class)
        lines.append(f"Technician: {final.display_name if final else cell.final_class}")
    if cell.pending_review:
        reasons = split_reasons(cell.review_reason)
        lines.append("Flagged for review" + (":" if reasons else ""))
        lines += [f"  {reason_description(r)}" for r in reasons]
    elif flag_labels(cell):
        lines.append(f"Was flagged: {flag_labels(cell)}")
    if cell.manual:
        lines.append("Added by hand")
    lines.append("Double-click: show in its field")
    return "\n".join(lines)
