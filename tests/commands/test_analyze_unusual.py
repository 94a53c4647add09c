"""``analyze`` with a laboratory profile that records its microscope's usual unfamiliar
share: the case is compared with it (`core.unusual`) in the JSON and on the console."""

from __future__ import annotations

from types import SimpleNamespace

from hemoscope.commands.analyze_report import unusual_json
from hemoscope.core import REASON_UNFAMILIAR, Box, Case, CaseInfo, Cell, CellKind, Field
from hemoscope.vision.lab_profile import UsualUnfamiliar


def case_of(familiar: int, unfamiliar: int) -> Case:
    def wbc(reason: str) -> Cell:
        return Cell.create(Box(10, 10, 50, 50), CellKind.WBC, auto_class="lymphocyte",
                           probability=0.95, review=bool(reason), review_reason=reason)  # fmt: skip

    cells = [wbc("") for _ in range(familiar)] + [wbc(REASON_UNFAMILIAR) for _ in range(unfamiliar)]
    return Case(CaseInfo(sample_id="s"), (Field.create(cells, 64, 64),))


def pipeline_with(usual: float | None) -> SimpleNamespace:
    profile = SimpleNamespace(
        usual_unfamiliar=None if usual is None else UsualUnfamiliar(usual, 400)
    )
    return SimpleNamespace(classifier=SimpleNamespace(profile=profile))


def test_a_case_far_above_the_usual_share_is_said_unusual() -> None:
    out = unusual_json(case_of(30, 10), pipeline_with(0.02), "standard")
    assert out == {"classified": 40, "unfamiliar": 10, "usual_share": 0.02, "unusual": True}
    usual = unusual_json(case_of(39, 1), pipeline_with(0.02), "standard")
    assert usual is not None and usual["unusual"] is False


def test_nothing_to_compare_without_a_usual_share_or_at_a_stricter_sensitivity() -> None:
    assert unusual_json(case_of(30, 10), pipeline_with(None), "standard") is None
    assert unusual_json(case_of(30, 10), pipeline_with(0.02), "high") is None
    no_profile = SimpleNamespace(classifier=SimpleNamespace(profile=None))
    assert unusual_json(case_of(30, 10), no_profile, "standard") is None
