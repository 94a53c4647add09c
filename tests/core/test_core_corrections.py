from dataclasses import replace

import pytest
from core_factories import case_of, cases, command_for, field_of, wbc
from hypothesis import given, settings
from hypothesis import strategies as st

from hemoscope.core import (
    REASON_LOW_CONFIDENCE,
    AddCell,
    AddField,
    AuditEntry,
    Box,
    Case,
    Cell,
    CellKind,
    Confirm,
    CorrectionError,
    Delete,
    DeleteField,
    ManualIncrement,
    Relabel,
    Tally,
    UndoHistory,
)


def small_case() -> tuple[Case, str, list[Cell]]:
    flagged = wbc("neutrophil", review=True, reason=REASON_LOW_CONFIDENCE)
    cells = [flagged, wbc("lymphocyte"), wbc(None, kind=CellKind.RBC)]
    f = field_of(cells, "field-1")
    return case_of(f), f.id, cells


def test_relabel_apply_revert_and_audit() -> None:
    case, fid, cells = small_case()
    cmd = Relabel(fid, cells[0].id, "band").bind(case)
    after = cmd.apply(case)
    cell = after.fields[0].cells[0]
    assert cell.final_class == "band" and cell.effective_class == "band"
    assert cell.corrected and cell.auto_class == "neutrophil"
    # The machine's flag and its reason stay; the human decision ends the review.
    assert cell.review and cell.review_reason == REASON_LOW_CONFIDENCE
    assert not cell.pending_review
    assert case.fields[0].cells[0].final_class is None  # original untouched
    assert cmd.revert(after) == case
    entry = cmd.audit()
    assert entry == AuditEntry("relabel", fid, cells[0].id, "neutrophil", "band", entry.detail)
    assert "Neutrophil (segmented)" in cmd.describe() and "Band neutrophil" in cmd.describe()
    assert entry.undone().action == "undo:relabel"
    assert (entry.undone().old_class, entry.undone().new_class) == ("band", "neutrophil")


def test_relabel_red_cell_detection_makes_it_a_white_cell() -> None:
    case, fid, cells = small_case()
    after = Relabel(fid, cells[2].id, "lymphocyte").apply(case)
    assert after.fields[0].cells[2].kind is CellKind.WBC
    assert Tally.from_case(after).count("lymphocyte") == 2


def test_confirm() -> None:
    case, fid, cells = small_case()
    cmd = Confirm(fid, cells[0].id).bind(case)
    after = cmd.apply(case)
    cell = after.fields[0].cells[0]
    assert cell.final_class == "neutrophil" and not cell.corrected and not cell.pending_review
    assert cell.review and cell.review_reason == REASON_LOW_CONFIDENCE
    assert cmd.revert(after) == case
    assert cmd.audit().new_class == "neutrophil"
    with pytest.raises(CorrectionError, match="no automatic class"):
        Confirm(fid, cells[2].id).apply(case)


def test_delete_restores_at_same_index() -> None:
    case, fid, cells = small_case()
    cmd = Delete(fid, cells[1].id).bind(case)
    after = cmd.apply(case)
    assert [c.id for c in after.fields[0].cells] == [cells[0].id, cells[2].id]
    restored = cmd.revert(after)
    assert restored == case and restored.fields[0].cells[1] == cells[1]
    assert cmd.audit().old_class == "lymphocyte" and cmd.audit().new_class is None


def test_add_cell_is_manual() -> None:
    case, fid, _ = small_case()
    new = Cell.create(Box(1, 1, 20, 20), CellKind.WBC, final_class="blast")
    cmd = AddCell(fid, new)
    after = cmd.apply(case)
    added = after.fields[0].cells[-1]
    assert added.manual and added.id == new.id and added.effective_class == "blast"
    assert cmd.revert(after) == case
    with pytest.raises(CorrectionError, match="already has"):
        cmd.apply(after)


def test_manual_increment_never_negative() -> None:
    case, _, _ = small_case()
    up = ManualIncrement("basophil")
    once = up.apply(case)
    assert once.manual == {"basophil": 1}
    assert up.revert(once) == case
    with pytest.raises(CorrectionError, match="below 0"):
        ManualIncrement("basophil", -1).apply(case)
    with pytest.raises(CorrectionError):
        ManualIncrement("basophil", 0)
    assert isinstance(CorrectionError("x"), ValueError)


def test_add_and_delete_field() -> None:
    case, fid, _ = small_case()
    new = field_of([wbc("monocyte")])
    added = AddField(new).apply(case)
    assert added.fields[-1] == new and AddField(new).revert(added) == case
    with pytest.raises(CorrectionError):
        AddField(new).apply(added)
    cmd = DeleteField(fid).bind(added)
    removed = cmd.apply(added)
    assert [f.id for f in removed.fields] == [new.id] and cmd.revert(removed) == added


@pytest.mark.parametrize(
    "make",
    [
        lambda fid, cid: Relabel("nope", cid, "band"),
        lambda fid, cid: Relabel(fid, "nope", "band"),
        lambda fid, cid: Confirm(fid, "nope"),
        lambda fid, cid: Delete("nope", cid),
        lambda fid, cid: AddCell("nope", wbc("band")),
        lambda fid, cid: DeleteField("nope"),
    ],
)
def test_unknown_ids(make) -> None:  # type: ignore[no-untyped-def]
    case, fid, cells = small_case()
    with pytest.raises(CorrectionError, match="nope"):
        make(fid, cells[0].id).bind(case).apply(case)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Relabel("f", "c", "martian"),
        lambda: ManualIncrement("martian"),
        lambda: AddCell("f", wbc("martian")),
    ],
)
def test_unknown_classes(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CorrectionError, match="unknown cell class 'martian'"):
        make()


def test_unbound_revert_and_stale_case_are_refused() -> None:
    case, fid, cells = small_case()
    with pytest.raises(CorrectionError, match="not bound"):
        Relabel(fid, cells[0].id, "band").revert(case)
    bound = Relabel(fid, cells[0].id, "band").bind(case)
    changed = Relabel(fid, cells[0].id, "monocyte").apply(case)
    with pytest.raises(CorrectionError, match="changed"):
        bound.apply(changed)
    with pytest.raises(CorrectionError, match="changed"):
        bound.revert(changed)


def test_undo_history() -> None:
    case, fid, cells = small_case()
    h = UndoHistory(case)
    assert not h.can_undo and not h.can_redo and h.undo_text is None
    c1 = h.do(Relabel(fid, cells[0].id, "band"))
    c2 = h.do(ManualIncrement("eosinophil", 2))
    assert h.case == c2 and h.can_undo and "Eosinophil" in (h.undo_text or "")
    assert [type(c) for c in h.done] == [Relabel, ManualIncrement]
    assert h.done[0].audit().old_class == "neutrophil"
    assert h.undo() == c1 and h.undo() == case
    assert not h.can_undo and h.can_redo
    with pytest.raises(CorrectionError, match="nothing to undo"):
        h.undo()
    assert h.redo() == c1
    h.do(Delete(fid, cells[1].id))  # a new command clears redo
    assert not h.can_redo
    with pytest.raises(CorrectionError, match="nothing to redo"):
        h.redo()
    before = h.case
    with pytest.raises(CorrectionError):
        h.do(ManualIncrement("basophil", -1))
    assert h.case == before and len(h.done) == 2  # failed command left no trace
    h.reset(case)
    assert h.case == case and not h.can_undo


def test_undo_history_limit() -> None:
    case, _, _ = small_case()
    h = UndoHistory(case, limit=2)
    for _ in range(3):
        h.do(ManualIncrement("basophil"))
    h.undo()
    h.undo()
    assert not h.can_undo and h.case.manual == {"basophil": 1}


@settings(max_examples=40, deadline=None)
@given(cases(), st.data())
def test_random_command_sequences_undo_to_start(case: Case, data: st.DataObject) -> None:
    history = UndoHistory(case)
    states = [case]
    for _ in range(data.draw(st.integers(1, 8))):
        cmd = data.draw(command_for(history.case))
        current = history.case
        try:
            new = history.do(cmd)
        except CorrectionError:
            assert history.case == current
            continue
        bound = history.done[-1]
        assert bound.revert(new) == current  # undo(apply(x)) == x, step by step
        assert all(v >= 0 for v in new.manual.values())
        assert all(r.count >= 0 for r in Tally.from_case(new).rows)
        states.append(new)
    end = history.case
    for expected in reversed(states[:-1]):
        assert history.undo() == expected
    assert history.case == case and not history.can_undo
    while history.can_redo:
        history.redo()
    assert history.case == end


def test_commands_are_values() -> None:
    a = Relabel("f", "c", "band")
    assert a == Relabel("f", "c", "band") and a != Relabel("f", "c", "blast")
    assert replace(a, new_class="ig").new_class == "ig"
    with pytest.raises(CorrectionError):
        replace(a, new_class="martian")


def test_flag_unfamiliar_adds_the_reason_keeps_the_class_and_reverts() -> None:
    from hemoscope.core import REASON_UNFAMILIAR, FlagUnfamiliar, split_reasons

    case, fid, cells = small_case()
    plain, low = cells[1], cells[0]
    cmd = FlagUnfamiliar(fid, plain.id, sensitivity="high").bind(case)
    after = cmd.apply(case)
    cell = after.fields[0].cells[1]
    assert cell.review and cell.review_reason == REASON_UNFAMILIAR
    assert cell.auto_class == plain.auto_class and cell.final_class is None
    assert cell.pending_review
    entry = cmd.audit()
    assert entry.action == "flag-unfamiliar" and entry.old_class == entry.new_class
    assert "unfamiliar at high review sensitivity" in entry.detail
    assert cmd.revert(after) == case
    # A cell flagged for another reason keeps it and gains this one.
    both = FlagUnfamiliar(fid, low.id).bind(case).apply(case).fields[0].cells[0]
    assert split_reasons(both.review_reason) == (REASON_LOW_CONFIDENCE, REASON_UNFAMILIAR)
    with pytest.raises(CorrectionError, match="unfamiliar already"):
        FlagUnfamiliar(fid, plain.id).apply(after)
