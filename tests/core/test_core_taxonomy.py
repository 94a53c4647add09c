from itertools import combinations

import pytest

from hemoscope.core import (
    DEFAULT_TAXONOMY,
    NRBC_ID,
    CellClass,
    CellKind,
    Taxonomy,
    TaxonomyError,
)

T = DEFAULT_TAXONOMY
#: The finer manual classes, without a key by default.
FINER = ("promyelocyte", "myelocyte", "metamyelocyte", "reactive_lymphocyte", "plasma_cell")


def test_class_ids_and_order() -> None:
    assert T.ids == (
        "neutrophil",
        "lymphocyte",
        "monocyte",
        "eosinophil",
        "basophil",
        "ig",
        "band",
        "blast",
        "promyelocyte",
        "myelocyte",
        "metamyelocyte",
        "reactive_lymphocyte",
        "plasma_cell",
        "erythroblast",
        "smudge",
        "artefact",
        "platelet",
    )


def test_default_keys() -> None:
    expected = {
        "neutrophil": "1",
        "lymphocyte": "2",
        "monocyte": "3",
        "eosinophil": "4",
        "basophil": "5",
        "ig": "6",
        "band": "7",
        "blast": "8",
        "erythroblast": "9",
        "smudge": "0",
        "artefact": "-",
        "platelet": "=",
    } | dict.fromkeys(FINER, "")
    assert T.keymap == expected
    for class_id, key in expected.items():
        if not key:
            continue
        cls = T.by_key(key)
        assert cls is not None and cls.id == class_id
    assert T.by_key("x") is None


def test_differential_membership_and_kinds() -> None:
    assert T.differential_ids() == (
        "neutrophil",
        "lymphocyte",
        "monocyte",
        "eosinophil",
        "basophil",
        "ig",
        "band",
        "blast",
        *FINER,
    )
    for non_diff in ("erythroblast", "smudge", "artefact", "platelet"):
        assert not T[non_diff].in_differential
    assert T["platelet"].kind is CellKind.PLATELET
    assert all(c.kind is CellKind.WBC for c in T if c.id != "platelet")
    assert T[NRBC_ID].id == "erythroblast"
    assert {c.id for c in T if not c.auto} == {"band", "blast", "smudge", "artefact", *FINER}
    assert T["band"].counted_as == "neutrophil"
    assert T.group_of("band") == "neutrophil"
    assert T.group_of("lymphocyte") == "lymphocyte"
    assert CellKind("wbc") is CellKind.WBC


def test_colours_distinct_and_far_apart() -> None:
    def rgb(c: str) -> tuple[int, int, int]:
        return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)

    colours = [c.colour for c in T]
    assert len(set(colours)) == len(colours)
    for a, b in combinations(colours, 2):
        dist = sum((x - y) ** 2 for x, y in zip(rgb(a), rgb(b), strict=True)) ** 0.5
        assert dist > 60, (a, b)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Neutrophil", "neutrophil"),
        ("NEUTROPHIL", "neutrophil"),
        ("neutrophils", "neutrophil"),
        ("IG", "ig"),
        ("immature granulocyte", "ig"),
        ("Immature_Granulocytes", "ig"),
        ("NRBC", "erythroblast"),
        ("erythroblasts", "erythroblast"),
        ("eos", "eosinophil"),
        ("lymph", "lymphocyte"),
        ("mono", "monocyte"),
        ("baso", "basophil"),
        ("band-neutrophils", "band"),
        ("Atypical Lymphocyte", "reactive_lymphocyte"),
        ("variant_lymphocytes", "reactive_lymphocyte"),
        ("LYA", "reactive_lymphocyte"),
        ("myelocytes", "myelocyte"),
        ("MMZ", "metamyelocyte"),
        ("PMY", "promyelocyte"),
        ("Plasma cells", "plasma_cell"),
        ("myeloblast", "blast"),
        ("platelets", "platelet"),
        ("artifact", "artefact"),
        ("  Monocyte ", "monocyte"),
        ("Smudge cells", "smudge"),
    ],
)
def test_resolve(name: str, expected: str) -> None:
    assert T.resolve(name) == expected


@pytest.mark.parametrize("name", ["", "   ", "xyz", "red cell", "neutro phil", "s"])
def test_resolve_no_match(name: str) -> None:
    assert T.resolve(name) is None


def test_with_keys_returns_new_taxonomy() -> None:
    t2 = T.with_keys({"neutrophil": "n", "lymphocyte": "l"})
    assert t2 is not T and t2 != T
    assert t2.key_for("neutrophil") == "n"
    assert t2.by_key("N") is t2["neutrophil"]  # case-insensitive
    assert t2.by_key("1") is None
    assert T.key_for("neutrophil") == "1"  # original untouched
    assert t2.with_default_keys() == T
    # swapping two keys in one call is fine
    swapped = T.with_keys({"neutrophil": "2", "lymphocyte": "1"})
    assert swapped.by_key("1") is swapped["lymphocyte"]


def test_finer_classes_are_manual_without_keys_and_ig_stages_count_as_ig() -> None:
    for class_id in FINER:
        cls = T[class_id]
        assert not cls.auto and cls.in_differential and not cls.always_listed
        assert T.key_for(class_id) == ""
    assert T.members_of("ig") == ("promyelocyte", "myelocyte", "metamyelocyte")
    assert {T.group_of(c) for c in ("promyelocyte", "myelocyte", "metamyelocyte")} == {"ig"}
    assert T.members_of("neutrophil") == ("band",)
    assert T.group_of("reactive_lymphocyte") == "reactive_lymphocyte"
    assert T.group_of("plasma_cell") == "plasma_cell" and T.group_of("blast") == "blast"
    assert [c.id for c in T.keyed()] == [c.id for c in T if c.id not in FINER]


def test_a_laboratory_chooses_which_classes_have_keys() -> None:
    t2 = T.with_keys({"myelocyte": "m", "smudge": ""})
    assert t2.by_key("M") is t2["myelocyte"] and t2.key_for("smudge") == ""
    assert t2.by_key("0") is None and t2.by_key("") is None
    assert "smudge" not in {c.id for c in t2.keyed()} and t2["myelocyte"] in t2.keyed()
    # several classes without a key never clash; a freed key can be given to another
    t3 = t2.with_keys({"blast": "", "myelocyte": "8", "promyelocyte": "0"})
    assert t3.by_key("8") is t3["myelocyte"] and t3.by_key("0") is t3["promyelocyte"]
    assert Taxonomy(T.classes, t3.keymap) == t3


@pytest.mark.parametrize(
    "keys",
    [
        {"neutrophil": "2"},  # clashes with lymphocyte
        {"neutrophil": "a", "lymphocyte": "A"},  # clash ignoring case
        {"neutrophil": "ab"},
        {"neutrophil": " "},
        {"nonsense": "q"},
    ],
)
def test_with_keys_rejects_bad_keymaps(keys: dict[str, str]) -> None:
    with pytest.raises(TaxonomyError):
        T.with_keys(keys)


def test_lookup_errors() -> None:
    assert T.get("nonsense") is None
    assert "neutrophil" in T and "nonsense" not in T
    with pytest.raises(KeyError, match="nonsense"):
        T["nonsense"]


def test_cell_class_validation() -> None:
    ok = dict(
        id="x",
        display_name="X",
        colour="#00ff00",
        default_key="x",
        kind=CellKind.WBC,
        in_differential=True,
        auto=True,
    )
    CellClass(**ok)  # type: ignore[arg-type]
    for bad in (
        {"id": "X"},
        {"colour": "green"},
        {"colour": "#00FF00"},
        {"default_key": "xx"},
        {"display_name": " "},
        {"counted_as": "x"},
    ):
        with pytest.raises(TaxonomyError):
            CellClass(**{**ok, **bad})  # type: ignore[arg-type]


def test_taxonomy_validation() -> None:
    a = CellClass("a", "A", "#000000", "a", CellKind.WBC, True, True)
    with pytest.raises(TaxonomyError, match="duplicate"):
        Taxonomy([a, a])
    orphan = CellClass("b", "B", "#111111", "b", CellKind.WBC, True, True, counted_as="z")
    with pytest.raises(TaxonomyError, match="unknown"):
        Taxonomy([a, orphan])
    with pytest.raises(TaxonomyError):
        Taxonomy([])
