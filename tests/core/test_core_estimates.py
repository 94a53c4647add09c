import pytest
from core_factories import case_of, field_of, wbc

from hemoscope.core import (
    DEFAULT_TAXONOMY,
    PLATELET_FACTOR_RANGE,
    Box,
    Cell,
    CellKind,
    corrected_wbc_count,
    nrbc_per_100_wbc,
    platelet_estimate,
    platelets_per_field,
    reported_class,
    smear_estimates,
    wbc_estimate,
    wbc_per_field,
)


def test_platelet_estimate() -> None:
    est = platelet_estimate([12, 15, 18])
    assert est is not None and est.is_estimate
    assert est.mean_per_field == 15 and est.value == 225_000 and est.factor == 15_000
    assert est.value_1e9_per_l == 225.0 and est.unit == "/µL" and est.n_fields == 3
    high = platelet_estimate([10], factor=PLATELET_FACTOR_RANGE[1])
    assert high is not None and high.value == 200_000
    assert platelet_estimate([]) is None
    with pytest.raises(ValueError):
        platelet_estimate([1], factor=0)
    with pytest.raises(ValueError):
        platelet_estimate([-1])


def test_wbc_estimate_needs_lab_factor() -> None:
    assert wbc_estimate([3, 5], None) is None
    est = wbc_estimate([3, 5], 2_000)
    assert est is not None and est.is_estimate and est.value == 8_000
    assert wbc_estimate([], 2_000) is None


def test_nrbc_and_correction() -> None:
    assert nrbc_per_100_wbc(10, 100) == 10.0
    assert nrbc_per_100_wbc(5, 200) == 2.5
    assert nrbc_per_100_wbc(3, 0) is None
    assert corrected_wbc_count(11.0, 10.0) == pytest.approx(10.0)
    assert corrected_wbc_count(8.0, 0.0) == 8.0


def test_per_field_counts_from_a_case() -> None:
    f1 = field_of(
        [
            wbc("neutrophil"),
            wbc("lymphocyte"),
            wbc("erythroblast"),
            wbc(None, kind=CellKind.PLATELET),
            wbc(None, kind=CellKind.PLATELET),
            wbc(None, kind=CellKind.RBC),
            wbc("platelet"),
        ]
    )  # classifier: WBC detection is a giant platelet
    f2 = field_of([wbc(None), wbc(None, kind=CellKind.PLATELET)])  # unclassified WBC
    case = case_of(f1, f2)
    assert platelets_per_field(case) == [3, 1]
    assert wbc_per_field(case) == [2, 1]
    est = smear_estimates(case, wbc_factor=1_000)
    assert est.platelets is not None and est.platelets.value == 2 * 15_000
    assert est.wbc is not None and est.wbc.value == 1_500
    assert smear_estimates(case).wbc is None


def test_the_class_an_export_gives_each_cell() -> None:
    box = Box(0, 0, 10, 10)
    platelet = Cell.create(box, CellKind.PLATELET, score=0.9)
    rbc = Cell.create(box, CellKind.RBC, score=0.9)
    wbc = Cell.create(box, CellKind.WBC, score=0.9, auto_class="monocyte", probability=0.9)
    unclassified = Cell.create(box, CellKind.WBC, score=0.9)
    relabelled = Cell.create(box, CellKind.PLATELET, score=0.9, final_class="lymphocyte")
    assert reported_class(platelet) == DEFAULT_TAXONOMY.of_kind(CellKind.PLATELET)[0].id
    assert reported_class(rbc) is None and reported_class(unclassified) is None
    assert reported_class(wbc) == "monocyte" and reported_class(relabelled) == "lymphocyte"
