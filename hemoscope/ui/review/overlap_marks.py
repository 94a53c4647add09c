"""Marks a captured field's cells already counted in an earlier field of the case, and
those cut by its edge (`hemoscope.core.overlap`), before it joins the case. No Qt here.

Each field's registration thumbnail is made once and kept by field id; a field of a case
opened from the database gets its thumbnail from its stored image when first compared.
A new field is compared with the `RECENT` fields captured last (the stage moves little
between captures): about 3 ms each on the workstation's CPU, plus 15-30 ms for the new
field's thumbnail. `compute_marks` is that work alone, for a worker thread.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from hemoscope.core import Case, Field
from hemoscope.core.overlap import (
    UNCOUNTED_EDGE,
    UNCOUNTED_REPEAT,
    Thumbnail,
    mark_field,
    thumbnail,
)

__all__ = ["RECENT", "OverlapMarks", "compute_marks", "marks_text", "repeats_banner"]

RECENT = 12
KEPT = 200  # thumbnails kept (about 110 kB each)
Image = npt.NDArray[np.uint8]


class OverlapMarks:
    def __init__(self, image_of: Callable[[str], Image | None]) -> None:
        self._image_of = image_of
        self._thumbs: dict[str, Thumbnail] = {}

    def mark(self, case: Case | None, field: Field, image: Image) -> Field:
        """`field` (found in `image`) with its cells marked against `case`'s fields."""
        marked, thumb = compute_marks(field, image, self.earlier(case, field.id))
        self.remember(field.id, thumb)
        return marked

    def earlier(self, case: Case | None, field_id: str) -> list[tuple[Field, Thumbnail]]:
        """The fields a new field is compared with, and their thumbnails (made now for a
        field of a case opened from the database)."""
        earlier = []
        for old in case.fields[-RECENT:] if case is not None else ():
            thumb = self._thumb(old.id)
            if thumb is not None and old.id != field_id:
                earlier.append((old, thumb))
        return earlier

    def remember(self, field_id: str, thumb: Thumbnail) -> None:
        self._thumbs[field_id] = thumb
        while len(self._thumbs) > KEPT:
            del self._thumbs[next(iter(self._thumbs))]

    def _thumb(self, field_id: str) -> Thumbnail | None:
        thumb = self._thumbs.get(field_id)
        if thumb is None:
            image = self._image_of(field_id)
            if image is not None:
                thumb = self._thumbs[field_id] = thumbnail(image)
        return thumb


def compute_marks(
    field: Field, image: Image, earlier: list[tuple[Field, Thumbnail]]
) -> tuple[Field, Thumbnail]:
    """The marked field and its thumbnail: the work itself, pure (any thread)."""
    thumb = thumbnail(image)
    return mark_field(field, thumb, earlier), thumb


def marks_text(field: Field) -> str:
    """What the capture left out of the tally, for the status bar ("2 white cells
    already counted in an earlier field, 1 cut by the edge: not counted ..."), or ""."""
    out = Counter(c.uncounted for c in field.cells if c.uncounted)
    parts = []
    if out[UNCOUNTED_REPEAT]:
        n = out[UNCOUNTED_REPEAT]
        parts.append(f"{n} white cell{'s' if n != 1 else ''} already counted in an earlier field")
    if out[UNCOUNTED_EDGE]:
        parts.append(f"{out[UNCOUNTED_EDGE]} cut by the edge")
    return ", ".join(parts) + ": not counted (dotted boxes)" if parts else ""


def repeats_banner(field: Field) -> str:
    """The banner when the field overlaps an earlier one, or ""."""
    n = sum(c.uncounted == UNCOUNTED_REPEAT for c in field.cells)
    if not n:
        return ""
    cells, they = ("white cell was", "It is") if n == 1 else ("white cells were", "They are")
    return (
        f"This field overlaps an earlier one: {n} {cells} counted there already. "
        f"{they} shown dotted, marked “already counted”, and not counted again."
    )
