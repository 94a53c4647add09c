"""Review reasons: the vocabulary, the stored form, the cell's rule, counting, and what
corrections do to the machine's flag and reason."""

from dataclasses import replace

import pytest
from core_factories import case_of, cases, command_for, field_of, wbc
from hypothesis import given, settings
from hypothesis import strategies as st

from hemoscope.core import (
    REASON_DISAGREE,
    REASON_LOW_CONFIDENCE,
    REASON_NO_CELL,
    REASON_NO_WHITE_CELL,
    REASON_NOT_RECORDED,
    REASON_UNFAMILIAR,
    REVIEW_REASONS,
    Box,
    Case,
    Cell,
    CellKind,
    Confirm,
    FlagCounts,
    Relabel,
    count_flags,
    join_reasons,
    reason_description,
    reason_label,
    split_reasons,
)

ALL = [REASON_LOW_CONFIDENCE, REASON_UNFAMILIAR, REASON_DISAGREE, REASON_NO_WHITE_CELL,
       REASON_NO_CELL]  # fmt: skip


def test_vocabulary_strings_and_display_text() -> None:
    assert ALL == ["low confidence", "unfamiliar", "detector and classifier disagree",
                   "no white cell found", "no cell found"]  # fmt: skip
    assert list(REVIEW_REASONS) == ALL
    for reason in ALL:
        entry = REVIEW_REASONS[reason]
        assert entry.id == reason and entry.label and entry.description
        assert reason_label(reason) == entry.label
        assert reason_description(reason) == f"{entry.label}: {entry.description}"
    assert reason_label(REASON_LOW_CONFIDENCE) == "Low confidence"
    assert "unsure" in reason_description(REASON_LOW_CONFIDENCE)
    assert "platelet" in REVIEW_REASONS[REASON_DISAGREE].description
    # Unknown reasons (from a newer version) are shown as they are; none is "not recorded".
    assert reason_label("stain too pale") == "Stain too pale"
    assert reason_description("stain too pale") == "Stain too pale"
    assert reason_label("") == "Reason not recorded"


def test_join_and_split() -> None:
    joined = join_reasons([REASON_UNFAMILIAR, " low confidence ", "", REASON_UNFAMILIAR])
    assert joined == "unfamiliar; low confidence"  # order kept, each once, blanks dropped
    assert split_reasons(joined) == (REASON_UNFAMILIAR, REASON_LOW_CONFIDENCE)
    assert join_reasons([]) == "" and split_reasons("") == ()
    assert split_reasons(" unfamiliar ;;unfamiliar;low confidence") == (
        REASON_UNFAMILIAR,
        REASON_LOW_CONFIDENCE,
    )
    with pytest.raises(ValueError, match="';'"):
        join_reasons(["a; b"])
    with pytest.raises(ValueError, match="line break"):
        join_reasons(["a\nb"])
    with pytest.raises(TypeError, match="not one string"):
        join_reasons(REASON_LOW_CONFIDENCE)


@given(st.lists(st.text(st.characters(blacklist_characters=";\r\n"), max_size=12), max_size=5))
def test_split_inverts_join(reasons: list[str]) -> None:
    kept = [r.strip() for r in reasons if r.strip()]
    assert split_reasons(join_reasons(reasons)) == tuple(dict.fromkeys(kept))


def test_cell_carries_a_reason_only_when_flagged() -> None:
    box = Box(0, 0, 10, 10)
    both = join_reasons([REASON_LOW_CONFIDENCE, REASON_UNFAMILIAR])
    cell = Cell.create(box, CellKind.WBC, auto_class="monocyte", review=True, review_reason=both)
    assert cell.review_reason == "low confidence; unfamiliar" and cell.pending_review
    assert Cell.create(box, CellKind.WBC).review_reason == ""
    assert Cell.create(box, CellKind.WBC, review=True).review_reason == ""  # old data
    with pytest.raises(ValueError, match="not flagged"):
        Cell.create(box, CellKind.WBC, review_reason=REASON_UNFAMILIAR)
    with pytest.raises(ValueError, match="not flagged"):
        replace(cell, review=False)
    with pytest.raises(TypeError, match="review_reason"):
        replace(cell, review_reason=None)  # type: ignore[arg-type]
    # Positional construction (nine fields, as before the reason) still works.
    old = Cell("c1", box, CellKind.WBC, "monocyte", None, 0.9, 0.5, True, False)
    assert old.review and old.review_reason == ""


def test_count_flags_by_reason() -> None:
    both = join_reasons([REASON_UNFAMILIAR, REASON_LOW_CONFIDENCE])
    cells = (
        [wbc("monocyte", review=True, reason=REASON_LOW_CONFIDENCE) for _ in range(6)]
        + [wbc("blast", review=True, reason=both)]
        + [wbc("platelet", review=True, reason=REASON_DISAGREE) for _ in range(2)]
        + [wbc("monocyte", review=True, reason=REASON_UNFAMILIAR) for _ in range(2)]
        + [wbc("monocyte", review=True), wbc("lymphocyte"), wbc("neutrophil")]
        + [wbc("monocyte", review=True, reason="stain too pale")]
    )
    flags = count_flags(cells)
    assert flags.flagged == 13
    assert flags.reasons == (
        (REASON_LOW_CONFIDENCE, 7),
        (REASON_UNFAMILIAR, 3),
        (REASON_DISAGREE, 2),
        ("stain too pale", 1),
        (REASON_NOT_RECORDED, 1),
    )
    assert flags.line() == (
        "Flagged for review: 13 (low confidence 7, unfamiliar 3, "
        "detector and classifier disagree 2, stain too pale 1, reason not recorded 1)"
    )
    assert flags.by_reason[REASON_UNFAMILIAR] == 3
    none = count_flags([wbc("lymphocyte")])
    assert none == FlagCounts() and none.line() == "Flagged for review: 0"
    assert none.breakdown() == "" and none.by_reason == {}


def small_case() -> tuple[Case, str, Cell, Cell]:
    flagged = wbc("monocyte", review=True, reason=join_reasons([REASON_UNFAMILIAR]))
    disagree = wbc("platelet", review=True, reason=REASON_DISAGREE)
    f = field_of([flagged, disagree, wbc("lymphocyte")], "f-1")
    return case_of(f), f.id, flagged, disagree


def test_relabel_and_confirm_keep_the_machines_reason() -> None:
    case, fid, flagged, disagree = small_case()
    relabelled = Relabel(fid, flagged.id, "blast").bind(case).apply(case).fields[0].cells[0]
    assert relabelled.final_class == "blast" and not relabelled.pending_review
    assert relabelled.review and relabelled.review_reason == REASON_UNFAMILIAR
    # The human decision changes the kind, not why the machine flagged it.
    confirmed = Relabel(fid, disagree.id, "lymphocyte").apply(case).fields[0].cells[1]
    assert confirmed.kind is CellKind.WBC and confirmed.review_reason == REASON_DISAGREE
    kept = Confirm(fid, flagged.id).apply(case).fields[0].cells[0]
    assert kept.final_class == "monocyte" and kept.review_reason == REASON_UNFAMILIAR
    # Flags still count after the decisions; pending ones do not.
    after = Confirm(fid, disagree.id).apply(Relabel(fid, flagged.id, "blast").apply(case))
    assert count_flags(c for _, c in after.iter_cells()).flagged == 2
    assert not any(c.pending_review for _, c in after.iter_cells())


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_no_correction_changes_a_cells_flag_or_reason(data: st.DataObject) -> None:
    case = data.draw(cases())
    command = data.draw(command_for(case))
    if not isinstance(command, Relabel | Confirm):
        return
    bound = command.bind(case)
    before = case.get_field(command.field_id).get(command.cell_id)  # type: ignore[union-attr]
    after = bound.apply(case).get_field(command.field_id).get(command.cell_id)  # type: ignore[union-attr]
    assert before is not None and after is not None
    assert (after.review, after.review_reason) == (before.review, before.review_reason)
    assert not after.pending_review
