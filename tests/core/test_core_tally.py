import math

import pytest
from core_factories import case_of, cases, field_of, many, wbc
from hypothesis import given, settings

from hemoscope.core import (
    DEFAULT_REFERENCE,
    DEFAULT_TAXONOMY,
    Case,
    CellKind,
    ReferenceRange,
    Tally,
    five_part,
    round_half_up,
)


def hand_case() -> Case:
    """100 WBC: 60 neutrophils (55 segmented + 5 bands), 15 lymphocytes, 15 monocytes,
    8 eosinophils, 2 basophils (counted at the eyepiece); 10 NRBC, 3 smudge cells."""
    f1 = field_of(
        [
            *many("neutrophil", 40),
            *many("lymphocyte", 10),
            *many("erythroblast", 6),
            wbc(None, kind=CellKind.RBC),
            wbc(None, kind=CellKind.PLATELET),
        ]
    )
    f2 = field_of(
        [
            *many("neutrophil", 15),
            *many("lymphocyte", 4),
            *many("monocyte", 15),
            *many("eosinophil", 8),
            *many("erythroblast", 4),
            *many("smudge", 3),
            wbc("neutrophil", "band"),
            wbc("neutrophil", "lymphocyte"),
        ]
    )
    return case_of(f1, f2, manual={"band": 4, "basophil": 2}, wbc_count=11.0)


def test_hand_checked_tally() -> None:
    t = Tally.from_case(hand_case())
    assert t.counts == {
        "neutrophil": 55,
        "band": 5,
        "lymphocyte": 15,
        "monocyte": 15,
        "eosinophil": 8,
        "basophil": 2,
        "erythroblast": 10,
        "smudge": 3,
    }
    assert t.denominator == 100 and t.n_fields == 2 and t.manual_total == 6
    assert t.corrected == 2 and t.pending_review == 0 and t.unclassified == 0
    assert t.nrbc_per_100 == 10.0
    assert t.wbc_count == 11.0
    assert t.corrected_wbc_count == pytest.approx(10.0)
    # percentages, CI, absolute (x10^9/L, from the corrected WBC count), flags
    lym = t.row("lymphocyte")
    assert lym.percent == 15.0 and lym.flag == "L"
    assert lym.ci_percent is not None
    assert [round(v, 2) for v in lym.ci_percent] == [8.65, 23.53]
    assert lym.absolute == pytest.approx(1.5)
    mono = t.row("monocyte")
    assert mono.percent == 15.0 and mono.flag == "H" and mono.absolute == pytest.approx(1.5)
    assert t.row("neutrophil").percent == 55.0 and t.row("neutrophil").flag is None
    assert t.row("eosinophil").flag is None  # 8 % is the upper bound: inclusive
    assert t.row("basophil").flag is None
    assert t.flags() == {"lymphocyte": "L", "monocyte": "H"}
    nrbc = t.row("erythroblast")
    assert nrbc.percent is None and nrbc.ci is None and nrbc.per_100_wbc == 10.0
    assert nrbc.absolute == pytest.approx(1.0)  # 11.0 - 10.0
    assert t.row("smudge").per_100_wbc == 3.0 and t.row("smudge").absolute is None
    assert sum(t.percentages().values()) == pytest.approx(100.0)
    # 5-part: bands counted as neutrophils
    fp = t.five_part()
    assert fp.counts == {
        "neutrophil": 60,
        "lymphocyte": 15,
        "monocyte": 15,
        "eosinophil": 8,
        "basophil": 2,
    }
    assert fp.other == 0 and fp.percent("neutrophil") == 60.0


def test_target_progress() -> None:
    case = hand_case()
    assert Tally.from_case(case).target_reached
    t200 = Tally.from_case(case, target=200)
    assert not t200.target_reached and t200.remaining == 100 and t200.progress == 0.5
    t7 = Tally.from_case(case, target=7)
    assert t7.target_reached and t7.remaining == 0 and t7.progress == 1.0
    for bad in (0, -100, True, 2.5):
        with pytest.raises(ValueError):
            Tally.from_case(case, target=bad)  # type: ignore[arg-type]


def test_empty_case() -> None:
    t = Tally.from_case(case_of())
    assert t.denominator == 0 and t.nrbc_per_100 is None and t.corrected_wbc_count is None
    assert all(r.percent is None and r.ci is None and r.flag is None for r in t.rows)
    assert t.percentages() == {} and t.progress == 0.0 and not t.target_reached
    assert t.five_part().percent("neutrophil") is None


def test_review_unclassified_unknown_and_no_wbc_count() -> None:
    f = field_of(
        [
            wbc("monocyte", review=True),
            wbc("monocyte", "monocyte", review=True),
            wbc(None),
            wbc("martian"),
            wbc("lymphocyte", kind=CellKind.RBC),
        ]
    )
    t = Tally.from_case(case_of(f))
    assert t.pending_review == 1  # the second was decided by the technician
    assert t.unclassified == 1 and t.unknown == {"martian": 1}
    assert t.counts == {"monocyte": 2} and t.denominator == 2  # RBC-kind cell not counted
    assert t.row("monocyte").absolute is None and t.corrected_wbc_count is None
    assert t.row("monocyte").flag == "H"  # 100 %


def test_no_nrbc_uses_plain_wbc_count() -> None:
    t = Tally.from_case(
        case_of(field_of(many("neutrophil", 3) + many("lymphocyte", 1)), wbc_count=8.0)
    )
    assert t.nrbc_per_100 == 0.0 and t.corrected_wbc_count == 8.0
    assert t.row("neutrophil").absolute == pytest.approx(6.0)


def test_flags_on_rounded_value_and_absolute_flags() -> None:
    # 72.04 % is printed 72.0 %, inside 43-72: no flag
    case = case_of(field_of(many("neutrophil", 1801) + many("lymphocyte", 699)), wbc_count=2.0)
    ref = DEFAULT_REFERENCE.with_range("neutrophil", ReferenceRange(43, 72, 2.0, 7.5))
    row = Tally.from_case(case, reference=ref).row("neutrophil")
    assert row.percent == pytest.approx(72.04) and row.percent_rounded == 72.0
    assert row.flag is None
    assert row.abs_flag == "L"  # 1.44 x10^9/L < 2.0


def test_five_part_other_and_unknown() -> None:
    fp = five_part(
        {"ig": 2, "blast": 1, "band": 3, "neutrophil": 4, "smudge": 9, "x": 5}, DEFAULT_TAXONOMY
    )
    assert fp.counts == {"neutrophil": 7} and fp.other == 3 and fp.denominator == 10


@settings(max_examples=60, deadline=None)
@given(cases())
def test_percentages_sum_to_100(case: Case) -> None:
    t = Tally.from_case(case)
    diff = [r for r in t.rows if r.in_differential]
    assert all(r.count >= 0 for r in t.rows)
    if t.denominator == 0:
        assert all(r.percent is None for r in diff)
        return
    assert sum(r.count for r in diff) == t.denominator
    assert math.isclose(sum(r.percent or 0.0 for r in diff), 100.0, abs_tol=1e-9)
    # each rounded value is within half a unit of the last place (0.05), so the rounded
    # sum is within 0.05 x the number of classes of 100
    rounded = [round_half_up(r.percent or 0.0, 1) for r in diff]
    assert abs(sum(rounded) - 100.0) <= 0.05 * len(diff) + 1e-9
    for r in diff:
        assert r.ci is not None and r.percent is not None
        assert r.ci.low * 100 <= r.percent + 1e-9 and r.percent <= r.ci.high * 100 + 1e-9


def test_ig_stages_are_separate_rows_and_counted_in_the_ig_total() -> None:
    case = case_of(
        field_of(
            [
                *many("neutrophil", 6),
                wbc("ig"),
                wbc("ig", "myelocyte"),  # the classifier said IG, the technician staged it
                *many("metamyelocyte", 1),
                wbc("lymphocyte", "reactive_lymphocyte"),
            ]
        ),
        manual={"promyelocyte": 1},
    )
    t = Tally.from_case(case)
    assert t.denominator == 11
    assert {c: t.count(c) for c in ("ig", "promyelocyte", "myelocyte", "metamyelocyte")} == {
        "ig": 1,
        "promyelocyte": 1,
        "myelocyte": 1,
        "metamyelocyte": 1,
    }
    total = t.subtotal("ig")
    assert total is not None and total.count == 4 and total.in_differential
    assert total.percent == pytest.approx(400 / 11)
    assert t.row("reactive_lymphocyte").count == 1 and t.subtotal("lymphocyte") is None
    assert [r.class_id for r in t.subtotals] == ["ig"]
    listed = [r.class_id for r in t.listed_rows()]
    assert "myelocyte" in listed and "plasma_cell" not in listed and "band" in listed
    assert t.five_part().other == 5  # IG of every stage and the reactive lymphocyte
    order = [(r.class_id, total) for r, total in t.listed_with_subtotals()]
    after = order.index(("metamyelocyte", False)) + 1
    assert order[after] == ("ig", True)
