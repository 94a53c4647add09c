"""Which cell is where, and which comes next, in a captured field. No Qt here.

- `cell_at`: the cell under a click (the smallest box containing the point, white cells
  before red cells and platelets, since those are the ones a technician corrects).
- `neighbour`: the nearest reviewable cell in an arrow key's direction.
- `next_flagged`: the next cell flagged for review and not decided yet, in reading order,
  going on into the following fields and wrapping round the case (Tab).
- `flag_labels`, `review_caption`: why a cell is flagged, and the caption over a field
  under review (with the selected cell's reasons while it awaits a decision).

"Reviewable" cells are those of the differential: white cells, cells the classifier
named, and cells a technician labelled or added; the hundreds of red cells are not
stepped through.
"""

from __future__ import annotations

import math
from typing import Literal

from hemoscope.core import Case, Cell, CellKind, Field, reason_label, split_reasons

__all__ = [
    "Direction",
    "cell_at",
    "flag_labels",
    "neighbour",
    "next_flagged",
    "reading_order",
    "review_caption",
    "reviewable",
]

Direction = Literal["left", "right", "up", "down"]

_VECTORS: dict[Direction, tuple[float, float]] = {
    "left": (-1.0, 0.0),
    "right": (1.0, 0.0),
    "up": (0.0, -1.0),
    "down": (0.0, 1.0),
}


def reviewable(cell: Cell) -> bool:
    return (
        cell.kind is CellKind.WBC
        or cell.auto_class is not None
        or cell.final_class is not None
        or cell.manual
    )


def cell_at(field: Field, x: float, y: float, *, margin: float = 0.0) -> Cell | None:
    """The cell whose box (grown by `margin` pixels) holds the point, or None."""
    hits = [c for c in field.cells if c.box.expand(margin).contains(x, y)]
    if not hits:
        return None
    return min(hits, key=lambda c: (not reviewable(c), c.box.area))


def reading_order(field: Field) -> list[Cell]:
    """Reviewable cells top to bottom in rows about one cell high, left to right."""
    cells = [c for c in field.cells if reviewable(c)]
    if not cells:
        return []
    row = max(1.0, sorted(c.box.height for c in cells)[len(cells) // 2])
    return sorted(cells, key=lambda c: (math.floor(c.box.centre[1] / row), c.box.centre[0]))


def neighbour(field: Field, cell_id: str | None, direction: Direction) -> Cell | None:
    """The reviewable cell nearest in `direction` from `cell_id`.

    Candidates must lie ahead (within 60 degrees of the direction); the cost favours
    cells straight ahead over nearer ones off to the side. Without a current cell, the
    first cell in reading order.
    """
    order = reading_order(field)
    current = field.get(cell_id) if cell_id is not None else None
    if current is None:
        return order[0] if order else None
    dx, dy = _VECTORS[direction]
    cx, cy = current.box.centre
    best: tuple[float, Cell] | None = None
    for cell in order:
        if cell.id == current.id:
            continue
        x, y = cell.box.centre
        ahead = (x - cx) * dx + (y - cy) * dy
        side = abs((x - cx) * dy - (y - cy) * dx)
        if ahead <= 0 or side > ahead * math.tan(math.radians(60)):
            continue
        cost = ahead + 2.0 * side
        if best is None or cost < best[0]:
            best = (cost, cell)
    return None if best is None else best[1]


def next_flagged(
    case: Case, field_id: str | None, cell_id: str | None, *, backwards: bool = False
) -> tuple[str, str] | None:
    """(field id, cell id) of the next cell awaiting review after the given one (before
    it, with `backwards`)."""
    fields = list(reversed(case.fields)) if backwards else list(case.fields)
    if not fields:
        return None

    def order(field: Field) -> list[Cell]:
        cells = reading_order(field)
        return cells[::-1] if backwards else cells

    ids = [f.id for f in fields]
    start = ids.index(field_id) if field_id in ids else 0
    # The current field after the current cell, the other fields, then the current field
    # again from its start (wrapping round).
    for step in range(len(fields) + 1):
        field = fields[(start + step) % len(fields)]
        ordered = order(field)
        flagged = [c for c in ordered if c.pending_review]
        if step == 0 and cell_id is not None:
            cell_ids = [c.id for c in ordered]
            if cell_id in cell_ids:
                after = set(cell_ids[cell_ids.index(cell_id) + 1 :])
                flagged = [c for c in flagged if c.id in after]
        if flagged:
            return field.id, flagged[0].id
    return None


def flag_labels(cell: Cell) -> str:
    """Why the cell is flagged, for display ("Low confidence, Unfamiliar cell"); "" when
    it is not flagged or its flag has no recorded reason."""
    if not cell.review:
        return ""
    return ", ".join(reason_label(r) for r in split_reasons(cell.review_reason))


def review_caption(number: int, total: int, field: Field, selected: Cell | None) -> str:
    """The caption over a captured field: which field, how many of its cells await
    review, and why the selected cell is flagged while it awaits a decision."""
    text = f"REVIEW  field {number} of {total}"
    pending = sum(c.pending_review for c in field.cells)
    if pending:
        text += f"  ·  {pending} to review"
    why = flag_labels(selected) if selected is not None and selected.pending_review else ""
    if why:
        text += f"  ·  selected: {why}"
    elif selected is not None and selected.uncounted:
        text += f"  ·  selected: {selected.uncounted}, not counted (Enter counts it)"
    return text
