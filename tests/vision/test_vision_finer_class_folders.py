"""Labelled folders named after the finer manual classes: the IG stages (promyelocyte,
myelocyte, metamyelocyte) are classes of their own now, and a classifier without them
still gets them as immature granulocytes, through ``counted_as``."""

from __future__ import annotations

from pathlib import Path

from hemoscope.core import DEFAULT_TAXONOMY
from hemoscope.vision.datasets import map_folders
from hemoscope.vision.lab_cells import class_index

CLASSES = ("basophil", "eosinophil", "erythroblast", "ig", "lymphocyte", "monocyte",
           "neutrophil", "platelet")  # fmt: skip


def test_ig_stage_folders_count_as_ig_for_a_classifier_without_them(tmp_path: Path) -> None:
    for name in ("promyelocyte", "Myelocytes", "METAMYELOCYTE", "MMZ", "IG", "LYA", "plasma"):
        (tmp_path / name).mkdir()
    mapping = map_folders(tmp_path, CLASSES)
    ig = CLASSES.index("ig")
    assert mapping.labels == dict.fromkeys(
        ("IG", "METAMYELOCYTE", "MMZ", "Myelocytes", "promyelocyte"), ig
    )
    # the stages are reached through counted_as (reported by `hemoscope evaluate`), IG itself
    # directly; reactive lymphocytes and plasma cells match no class of this classifier
    assert mapping.via_parent == dict.fromkeys(
        ("METAMYELOCYTE", "MMZ", "Myelocytes", "promyelocyte"), "ig"
    )
    assert mapping.unmatched == ("LYA", "plasma")
    # cells verified as a stage at the station adapt the classifier as IG
    for stage in ("promyelocyte", "myelocyte", "metamyelocyte"):
        assert class_index(stage, CLASSES) == ig
    assert class_index("reactive_lymphocyte", CLASSES) is None
    assert {DEFAULT_TAXONOMY.resolve(n) for n in ("LYA", "plasma")} == {
        "reactive_lymphocyte",
        "plasma_cell",
    }


def test_a_classifier_with_a_stage_of_its_own_gets_its_folder(tmp_path: Path) -> None:
    for name in ("myelocyte", "ig"):
        (tmp_path / name).mkdir()
    mapping = map_folders(tmp_path, (*CLASSES, "myelocyte"))
    assert mapping.labels == {"ig": CLASSES.index("ig"), "myelocyte": len(CLASSES)}
    assert mapping.via_parent == {}
