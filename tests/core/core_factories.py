"""Builders and hypothesis strategies shared by the core tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from hypothesis import strategies as st

from hemoscope.core import (
    DEFAULT_TAXONOMY,
    REASON_DISAGREE,
    REASON_LOW_CONFIDENCE,
    REASON_UNFAMILIAR,
    AddCell,
    AddField,
    Box,
    Case,
    CaseInfo,
    Cell,
    CellKind,
    Confirm,
    Correction,
    Delete,
    DeleteField,
    Field,
    ManualIncrement,
    Relabel,
    join_reasons,
)

WHEN = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
CLASS_IDS = DEFAULT_TAXONOMY.ids
_counter = iter(range(10**9))


def next_id(prefix: str = "c") -> str:
    return f"{prefix}{next(_counter)}"


def wbc(
    auto: str | None,
    final: str | None = None,
    *,
    review: bool = False,
    kind: CellKind = CellKind.WBC,
    reason: str = "",
) -> Cell:
    i = next(_counter)
    return Cell(
        f"c{i}",
        Box(i % 50, 0, i % 50 + 10, 10),
        kind,
        auto,
        final,
        0.9,
        None if auto is None else 0.8,
        review,
        False,
        reason,
    )


def field_of(cells: Iterable[Cell], fid: str | None = None) -> Field:
    return Field(fid or next_id("f"), tuple(cells), 640, 480, "test", WHEN)


def case_of(
    *fields: Field, manual: dict[str, int] | None = None, wbc_count: float | None = None
) -> Case:
    return Case(CaseInfo("S-1", wbc_count=wbc_count), fields, manual or {}, id="case-1")


def many(class_id: str, n: int, *, review: bool = False) -> list[Cell]:
    return [wbc(class_id, review=review) for _ in range(n)]


# -- hypothesis ----------------------------------------------------------------------
class_ids = st.sampled_from(CLASS_IDS)
maybe_class = st.none() | class_ids


#: Stored review reasons: none, one, several, one the vocabulary does not know.
review_reasons = st.sampled_from(
    ["", REASON_LOW_CONFIDENCE, join_reasons([REASON_UNFAMILIAR, REASON_DISAGREE]),
     "a reason from a newer version"]
)  # fmt: skip


@st.composite
def cells(draw: st.DrawFn) -> Cell:
    x = draw(st.floats(0, 600, allow_nan=False))
    y = draw(st.floats(0, 400, allow_nan=False))
    w = draw(st.floats(0, 40, allow_nan=False))
    review = draw(st.booleans())
    return Cell(
        next_id(),
        Box(x, y, x + w, y + w),
        draw(st.sampled_from(CellKind)),
        draw(maybe_class),
        draw(maybe_class),
        draw(st.floats(0, 1)),
        draw(st.none() | st.floats(0, 1)),
        review,
        draw(st.booleans()),
        draw(review_reasons) if review else "",
    )


@st.composite
def fields(draw: st.DrawFn) -> Field:
    return field_of(draw(st.lists(cells(), max_size=6)))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    manual = draw(st.dictionaries(class_ids, st.integers(0, 5), max_size=4))
    wbc_count = draw(st.none() | st.floats(0.5, 50))
    return case_of(*draw(st.lists(fields(), max_size=3)), manual=manual, wbc_count=wbc_count)


@st.composite
def command_for(draw: st.DrawFn, case: Case) -> Correction:
    """A command that is valid on ``case`` (ManualIncrement may still hit zero)."""
    located = [(f.id, c) for f in case.fields for c in f.cells]
    options = ["increment", "add-field"]
    if case.fields:
        options += ["add-cell", "delete-field"]
    if located:
        options += ["relabel", "delete"]
    if any(c.auto_class is not None for _, c in located):
        options.append("confirm")
    kind = draw(st.sampled_from(options))
    if kind == "increment":
        return ManualIncrement(draw(class_ids), draw(st.sampled_from([1, 1, 2, -1])))
    if kind == "add-field":
        return AddField(draw(fields()))
    if kind == "add-cell":
        return AddCell(draw(st.sampled_from(case.fields)).id, draw(cells()))
    if kind == "delete-field":
        return DeleteField(draw(st.sampled_from(case.fields)).id)
    if kind == "confirm":
        fid, cell = draw(st.sampled_from([p for p in located if p[1].auto_class is not None]))
        return Confirm(fid, cell.id)
    fid, cell = draw(st.sampled_from(located))
    if kind == "relabel":
        return Relabel(fid, cell.id, draw(class_ids))
    return Delete(fid, cell.id)
