from dataclasses import FrozenInstanceError, replace
from datetime import date

import pytest
from core_factories import WHEN, case_of, field_of, wbc

from hemoscope.core import Box, Case, CaseInfo, Cell, CellKind, Counts, Field, new_id


def test_new_id_is_uuid4_hex() -> None:
    a, b = new_id(), new_id()
    assert a != b and len(a) == 32 and int(a, 16) >= 0 and a[12] == "4"


def test_cell_effective_and_corrected() -> None:
    c = wbc("neutrophil")
    assert c.effective_class == "neutrophil" and not c.corrected
    relabelled = replace(c, final_class="band")
    assert relabelled.effective_class == "band" and relabelled.corrected
    confirmed = replace(c, final_class="neutrophil")
    assert confirmed.effective_class == "neutrophil" and not confirmed.corrected
    assert wbc(None).effective_class is None
    manual = replace(wbc(None), final_class="blast")
    assert manual.corrected and manual.effective_class == "blast"
    assert replace(c, review=True).pending_review
    assert not replace(c, review=True, final_class="monocyte").pending_review


def test_cell_is_immutable_and_validated() -> None:
    c = wbc("monocyte")
    with pytest.raises(FrozenInstanceError):
        c.final_class = "x"  # type: ignore[misc]
    with pytest.raises(ValueError):
        replace(c, score=1.5)
    with pytest.raises(ValueError):
        replace(c, probability=-0.1)
    with pytest.raises(ValueError):
        replace(c, id="")
    with pytest.raises(ValueError):
        replace(c, final_class="")
    with pytest.raises(TypeError):
        replace(c, kind="wbc")  # type: ignore[arg-type]
    created = Cell.create(Box(0, 0, 1, 1), CellKind.RBC)
    assert len(created.id) == 32 and created.score == 1.0 and created.auto_class is None


def test_field_counts_and_lookup() -> None:
    cells = [
        wbc("neutrophil"),
        wbc(None, kind=CellKind.RBC),
        wbc(None, kind=CellKind.RBC),
        wbc("platelet", kind=CellKind.PLATELET),
    ]
    f = field_of(cells)
    assert f.kind_counts() == {CellKind.WBC: 1, CellKind.RBC: 2, CellKind.PLATELET: 1}
    assert (f.n_wbc, f.n_rbc, f.n_platelets) == (1, 2, 1)
    assert f.index_of(cells[2].id) == 2 and f.get(cells[2].id) == cells[2]
    assert f.index_of("nope") is None and f.get("nope") is None
    assert f.without(0).cells == tuple(cells[1:])
    extra = wbc("monocyte")
    assert f.inserting(1, extra).cells[1] == extra
    assert f.inserting(99, extra).cells[-1] == extra
    with pytest.raises(ValueError, match="duplicate"):
        f.inserting(0, cells[0])


def test_field_validation() -> None:
    c = wbc("neutrophil")
    with pytest.raises(ValueError, match="duplicate"):
        field_of([c, c])
    with pytest.raises(ValueError):
        Field("f", (), 0, 10, "", WHEN)
    f = Field("f", [c], 10, 10, "", WHEN)  # type: ignore[arg-type]
    assert isinstance(f.cells, tuple)
    assert Field.create([c], 10, 10).captured_at.tzinfo is not None


def test_case_info_validation() -> None:
    info = CaseInfo("  S-42 ", specimen_date=date(2026, 1, 4), wbc_count=7)
    assert info.sample_id == "S-42" and info.wbc_count == 7.0
    for bad in (
        {"sample_id": " "},
        {"wbc_count": 0},
        {"wbc_count": -1.0},
        {"wbc_count": float("nan")},
    ):
        with pytest.raises(ValueError):
            CaseInfo(**{"sample_id": "S", **bad})  # type: ignore[arg-type]


def test_case_edits_and_manual_counts() -> None:
    f1, f2 = field_of([wbc("neutrophil")]), field_of([wbc("lymphocyte")])
    case = case_of(f1, manual={"band": 2, "blast": 0})
    assert isinstance(case.manual_counts, Counts)
    assert case.manual_counts == {"band": 2}
    grown = case.add_field(f2)
    assert grown.fields == (f1, f2) and case.fields == (f1,)
    assert grown.field_index(f2.id) == 1 and grown.get_field("nope") is None
    assert grown.count(CellKind.WBC) == 2
    assert [c.auto_class for _, c in grown.iter_cells(CellKind.WBC)] == ["neutrophil", "lymphocyte"]
    assert grown.without_field(0).fields == (f2,)
    with pytest.raises(ValueError, match="duplicate"):
        case.add_field(f1)
    assert hash(case) == hash(case_of(f1, manual={"band": 2}))
    assert Case(CaseInfo("x")).id != Case(CaseInfo("x")).id


def test_counts_mapping() -> None:
    c = Counts({"a": 2, "b": 0})
    assert dict(c) == {"a": 2} and c.get_count("b") == 0 and c.total() == 2
    assert c.add("a", -2) == Counts() and c.add("b") == {"a": 2, "b": 1}
    assert c + {"a": 1, "c": 3} == {"a": 3, "c": 3}
    assert hash(Counts({"x": 1, "y": 2})) == hash(Counts({"y": 2, "x": 1}))
    with pytest.raises(ValueError):
        c.add("a", -3)
    for bad in ({"a": -1}, {"a": 1.5}, {"": 1}, {"a": True}):
        with pytest.raises(ValueError):
            Counts(bad)  # type: ignore[arg-type]
