"""Marks a captured field's cells already counted in an earlier field of the case, and
those cut by its edge (`hemoscope.core.overlap`), before it joins the case. No Qt here.

Each field's registration thumbnail is made once and kept by field id; a field of a case
opened from the database gets its thumbnail from its stored image when first compared.
A new field is compared with the `RECENT` fields captured last (the stage moves little
between captures): about 3 ms each on the workstation's CPU, plus 15-30 ms for the new
field's thumbnail. `compute_marks` is that work alone, for a worker thread, including
reading the stored images of earlier fields whose thumbnails are not made yet (the
first capture after a saved case is opened: up to `RECENT` images, read by the worker,
never by the screen's thread).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from hemoscope.core import Case, Field
from hemoscope.core.overlap import (
    RECENT_FIELDS,
    UNCOUNTED_EDGE,
    UNCOUNTED_REPEAT,
    Thumbnail,
    mark_field,
    thumbnail,
)

__all__ = ["RECENT", "OverlapMarks", "compute_marks", "marks_text", "repeats_banner"]

RECENT = RECENT_FIELDS
KEPT = 200  # thumbnails kept (about 220 kB each: pixels and spectrum)
Image = npt.NDArray[np.uint8]


class OverlapMarks:
    """``image_of(field_id)``: a field's image for the thread that owns the case (the
    fallback, `mark`); ``stored_image(case, field_id)``: the same for any thread (the
    case backend's store calls are serialised on its own thread)."""

    def __init__(
        self,
        image_of: Callable[[str], Image | None],
        stored_image: Callable[[Case, str], Image | None] | None = None,
    ) -> None:
        self._image_of = image_of
        self._stored_image = stored_image
        self._thumbs: dict[str, Thumbnail] = {}

    def mark(self, case: Case | None, field: Field, image: Image) -> Field:
        """`field` (found in `image`) with its cells marked against `case`'s fields."""
        earlier = [(old, self._thumb(old.id)) for old, _ in self.earlier(case, field.id)]
        marked, thumb, _ = compute_marks(field, image, earlier, None)
        self.remember(field.id, thumb)
        return marked

    def earlier(self, case: Case | None, field_id: str) -> list[tuple[Field, Thumbnail | None]]:
        """The fields a new field is compared with, and their thumbnails when made
        already (None: to be made from the stored image, `loader`). Cheap: no image is
        read here."""
        return [
            (old, self._thumbs.get(old.id))
            for old in (case.fields[-RECENT:] if case is not None else ())
            if old.id != field_id
        ]

    def loader(self, case: Case | None) -> Callable[[str], Image | None] | None:
        """Reads a stored field image of ``case`` from any thread (None: no such reader)."""
        read = self._stored_image
        if read is None or case is None:
            return None
        return lambda field_id: read(case, field_id)

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
    field: Field,
    image: Image,
    earlier: list[tuple[Field, Thumbnail | None]],
    load: Callable[[str], Image | None] | None,
) -> tuple[Field, Thumbnail, dict[str, Thumbnail]]:
    """The marked field, its thumbnail and the thumbnails made here for earlier fields
    (from ``load``, for those without one): the work itself, pure (any thread). An
    earlier field whose image cannot be read is not compared."""
    made: dict[str, Thumbnail] = {}
    compared: list[tuple[Field, Thumbnail]] = []
    for old, thumb in earlier:
        if thumb is None and load is not None:
            try:
                stored = load(old.id)
            except Exception:  # a missing or damaged image: that field is not compared
                stored = None
            if stored is not None:
                thumb = made[old.id] = thumbnail(stored)
        if thumb is not None:
            compared.append((old, thumb))
    thumb = thumbnail(image)
    return mark_field(field, thumb, compared), thumb, made


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
