"""A labelled profile fitted with and without the microscope's colour calibration: the
better by cross-validation is kept, and the choice is on record."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from adapt_data import LAB_CLASSES, lab_cell  # tests/commands, on the path (conftest)

from hemoscope.vision.classifier import Classifier, colour_average
from hemoscope.vision.lab_adapt import adapt_cells
from hemoscope.vision.lab_cells import LabCells


def _classifier(model_paths: tuple[Path, Path], folder: Path, reference: bool) -> Classifier:
    folder.mkdir()
    for f in (model_paths[1], model_paths[1].with_suffix(".json")):
        shutil.copy(f, folder / f.name)
    if reference:
        card = json.loads((folder / "classifier.json").read_text())
        card["colour_reference"] = {"mean": [200, 170, 190], "std": [40, 55, 35]}
        (folder / "classifier.json").write_text(json.dumps(card))
    return Classifier(folder / "classifier.onnx", threads=1)


def _cells(clf: Classifier) -> LabCells:
    cells = LabCells(clf.classes)
    for s in range(10):
        for name in LAB_CLASSES:
            crop = clf.crop_whole_image(lab_cell(name, 100 + s))
            cells.add(crop, clf.classes.index(name), f"{name}-{s}")
    return cells


def test_both_variants_are_fitted_and_the_better_is_kept(
    model_paths: tuple[Path, Path], tmp_path: Path
) -> None:
    clf = _classifier(model_paths, tmp_path / "m", reference=True)
    result = adapt_cells(
        clf, _cells(clf), models={"classifier": clf.card}, name="lab", source="test"
    )
    v = result.profile.validation
    assert set(v["variants"]) == {"camera colours", "colour calibrated"}
    cal, raw = v["variants"]["colour calibrated"], v["variants"]["camera colours"]
    chosen_calibrated = cal["accuracy"] > raw["accuracy"]
    assert v["chosen"] == ("colour calibrated" if chosen_calibrated else "camera colours")
    assert (result.profile.colour is not None) == chosen_calibrated
    assert (
        result.after.accuracy == max(cal["accuracy"], raw["accuracy"])
        or abs(result.after.accuracy - max(cal["accuracy"], raw["accuracy"])) < 1e-4
    )
    # "before" is always the shipped model on the camera's colours.
    plain = adapt_cells(
        _classifier(model_paths, tmp_path / "p", reference=False),
        _cells(clf),
        models={"classifier": clf.card},
        name="lab",
        source="test",
    )
    assert result.before == plain.before
    assert "variants" not in plain.profile.validation and plain.profile.colour is None


def test_a_calibrated_profile_classifies_camera_and_calibrated_crops_averaged(
    model_paths: tuple[Path, Path], tmp_path: Path
) -> None:
    from dataclasses import replace

    from hemoscope.vision.colour_calibration import ColourCalibration, ColourReference

    clf = _classifier(model_paths, tmp_path / "m", reference=True)
    cells = _cells(clf)
    result = adapt_cells(clf, cells, models={"classifier": clf.card}, name="x", source="t")
    reference = ColourReference.from_card(clf.card)
    assert reference is not None
    colour = ColourCalibration.fit(cells.array(), reference)
    profile = replace(result.profile, colour=colour)
    saved = profile.save(tmp_path / "p.json")
    assert saved.kind == "colour calibration + head refit"
    clf.set_profile(saved)
    with_colour = clf.classify_crops(cells.array())
    seen = colour_average(
        clf.logits_and_descriptor(cells.array()),
        clf.logits_and_descriptor(colour.apply(cells.array())),
    )
    np.testing.assert_allclose(with_colour.probabilities, saved.probabilities(*seen), atol=1e-6)
    # Not the calibrated crop alone (compared before the softmax: the tiny model's
    # probabilities are all but 0 or 1).
    alone = clf.logits_and_descriptor(colour.apply(cells.array()))
    assert not np.allclose(saved.adjusted_logits(*seen), saved.adjusted_logits(*alone), atol=1e-3)
    clf.set_profile(replace(saved, colour=None))
    on_calibrated = clf.classify_crops(colour.apply(cells.array()))
    np.testing.assert_allclose(on_calibrated.probabilities, saved.probabilities(*alone), atol=1e-6)
