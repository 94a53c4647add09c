import json

import pytest

from hemoscope.core import DEFAULT_REFERENCE, ReferenceRange, ReferenceSet


def test_default_reference_values() -> None:
    expected = {
        "neutrophil": (43, 72),
        "lymphocyte": (18, 43),
        "monocyte": (4, 12),
        "eosinophil": (0, 8),
        "basophil": (0, 2),
    }
    assert {k: (r.low, r.high) for k, r in DEFAULT_REFERENCE.ranges.items()} == expected
    assert all(r.abs_low is None and r.abs_high is None for r in DEFAULT_REFERENCE.ranges.values())


def test_flags_bounds_inclusive() -> None:
    r = ReferenceRange(4, 12, abs_low=0.2, abs_high=1.0)
    assert (r.flag(3.9), r.flag(4.0), r.flag(12.0), r.flag(12.1)) == ("L", None, None, "H")
    assert r.flag(None) is None
    assert (r.flag_absolute(0.1), r.flag_absolute(0.5), r.flag_absolute(1.1)) == ("L", None, "H")
    assert ReferenceRange(0, 8).flag_absolute(99.0) is None


@pytest.mark.parametrize("args", [(10, 5), (-1, 5), (0, 101), (0, 5, 2.0, 1.0)])
def test_invalid_ranges(args: tuple[float, ...]) -> None:
    with pytest.raises(ValueError):
        ReferenceRange(*args)


def test_edits_return_new_sets() -> None:
    changed = DEFAULT_REFERENCE.with_range("monocyte", ReferenceRange(2, 10))
    assert changed.get("monocyte") == ReferenceRange(2, 10)
    assert DEFAULT_REFERENCE.get("monocyte") == ReferenceRange(4, 12)
    assert "basophil" not in changed.without("basophil").ranges
    assert changed.renamed("Paediatric").name == "Paediatric"
    with pytest.raises(TypeError):
        DEFAULT_REFERENCE.ranges["monocyte"] = ReferenceRange(0, 1)  # type: ignore[index]
    with pytest.raises(ValueError):
        ReferenceSet(" ")


def test_dict_round_trip_through_json() -> None:
    ref = DEFAULT_REFERENCE.with_range("ig", ReferenceRange(0, 0.5, None, 0.03))
    data = json.loads(json.dumps(ref.to_dict()))
    back = ReferenceSet.from_dict(data)
    assert back == ref and hash(back) == hash(ref)
    with pytest.raises((KeyError, ValueError)):
        ReferenceSet.from_dict({"name": "x", "ranges": {"a": {"low": 5}}})
