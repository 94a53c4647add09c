"""A microscope's colour calibration: known colour casts undone, the profile that holds it,
and the classifier seeing calibrated crops."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from hemoscope.vision.classification_metrics import softmax
from hemoscope.vision.classifier import Classifier, colour_average
from hemoscope.vision.colour_calibration import (
    MIN_CELLS,
    CalibrationError,
    ColourCalibration,
    ColourReference,
    pooled_stats,
)
from hemoscope.vision.lab_profile import LabProfile, ProfileError


def smear_crops(n: int, seed: int, size: int = 64) -> np.ndarray:
    """RGB crops: pale background, pink red cells, a purple white cell in the middle."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        img = np.full((size, size, 3), (232, 222, 226), np.float64)
        for _ in range(4):
            c = (int(rng.integers(0, size)), int(rng.integers(0, size)))
            cv2.circle(img, c, size // 7, (215, 150, 165), -1)
        cv2.circle(img, (size // 2, size // 2), size // 4, (150, 90, 175), -1)
        cv2.circle(img, (size // 2, size // 2), size // 8, (90, 40, 120), -1)
        img += rng.normal(0, 4, img.shape)
        out[i] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def reference_of(crops: np.ndarray) -> ColourReference:
    mean, std = pooled_stats(crops)
    return ColourReference(
        (float(mean[0]), float(mean[1]), float(mean[2])),
        (float(std[0]), float(std[1]), float(std[2])),
    )


@pytest.mark.parametrize(
    "gain, offset",
    [
        ((0.8, 1.0, 1.15), (10.0, 0.0, -20.0)),  # a yellow-blue white balance error
        ((1.0, 0.7, 0.9), (0.0, 40.0, 15.0)),  # a paler eosin, a brighter lamp
        ((0.6, 0.6, 0.6), (60.0, 60.0, 60.0)),  # washed out, low contrast
    ],
)
def test_a_known_colour_cast_is_undone(
    gain: tuple[float, float, float], offset: tuple[float, float, float]
) -> None:
    clean = smear_crops(40, seed=1)
    reference = reference_of(smear_crops(200, seed=2))  # the training laboratory
    cast = np.clip(clean * np.array(gain) + np.array(offset), 0, 255).astype(np.uint8)
    before = np.abs(cast.astype(float) - clean).mean()
    calibration = ColourCalibration.fit(cast, reference)
    undone = calibration.apply(cast)
    after = np.abs(undone.astype(float) - clean).mean()
    assert before > 8
    assert after < 3.0, (before, after)
    mean, std = pooled_stats(undone)
    np.testing.assert_allclose(mean, reference.mean, atol=1.5)
    np.testing.assert_allclose(std, reference.std, rtol=0.05)


def test_too_few_cells_are_refused_and_a_flat_channel_is_not_blown_up() -> None:
    crops = smear_crops(MIN_CELLS, seed=3)
    reference = reference_of(crops)
    with pytest.raises(CalibrationError, match=f"at least {MIN_CELLS}"):
        ColourCalibration.fit(crops[: MIN_CELLS - 1], reference)
    flat = crops.copy()
    flat[..., 2] = 77  # a dead blue channel
    gains = ColourCalibration.fit(flat, reference).gains()
    assert gains[2] == 1.0 and 0.5 < gains[0] < 2.0


def test_the_reference_comes_from_the_card() -> None:
    assert ColourReference.from_card({}) is None
    ref = ColourReference.from_card({"colour_reference": {"mean": [1, 2, 3], "std": [4, 5, 6]}})
    assert ref == ColourReference((1.0, 2.0, 3.0), (4.0, 5.0, 6.0))
    with pytest.raises(CalibrationError):
        ColourReference.from_card({"colour_reference": {"mean": [1, 2], "std": [4, 5, 6]}})


def colour_profile(clf: Classifier, crops: np.ndarray) -> LabProfile:
    calibration = ColourCalibration.fit(crops, reference_of(smear_crops(50, seed=9, size=128)))
    _, emb = clf.logits_and_descriptor(crops[:1])
    return LabProfile.unlabelled(
        colour=calibration,
        classes=clf.classes,
        embedding_size=emb.shape[1],
        base_temperature=clf.temperature,
        models={"classifier": clf.card},
        name="scope 2",
    )


def test_the_classifier_sees_camera_and_calibrated_crops_averaged(
    model_paths: tuple[Path, Path], tmp_path: Path
) -> None:
    clf = Classifier(model_paths[1], threads=1)
    size = clf.input_size
    crops = np.clip(smear_crops(12, seed=4, size=size) * (0.7, 1.0, 1.2), 0, 255).astype(np.uint8)
    profile = colour_profile(clf, crops).save(tmp_path / "scope.json")
    loaded = LabProfile.load(tmp_path / "scope.json")
    assert loaded.colour == profile.colour and loaded.kind == "colour calibration"
    assert loaded.cells == 12 and "colour calibration" in loaded.card()["version"]

    assert loaded.colour is not None
    raw = clf.logits_and_embedding(crops)
    calibrated = clf.logits_and_embedding(loaded.colour.apply(crops))
    mixed_logits, mixed_embedding = colour_average(raw, calibrated)
    clf.set_profile(loaded)
    with_profile = clf.classify_crops(crops)
    # The shipped head on the two views' average: neither the camera's crop alone nor
    # the calibrated one alone.
    np.testing.assert_allclose(
        with_profile.probabilities, softmax(mixed_logits, clf.temperature), atol=1e-6
    )
    np.testing.assert_allclose(with_profile.embedding, mixed_embedding, atol=1e-5)
    for alone in (raw, calibrated):
        assert not np.allclose(with_profile.probabilities, softmax(alone[0], clf.temperature))
    # The head is the shipped one: no class is "not in the profile".
    assert not any("not in the laboratory profile" in r for r in with_profile.reasons)
    # What a labelled profile is fitted on stays the camera's colours.
    np.testing.assert_allclose(clf.logits_and_embedding(crops)[0], raw[0], atol=1e-6)


def test_a_colour_calibration_never_weakens_the_unfamiliar_flag(
    model_paths: tuple[Path, Path], tmp_path: Path
) -> None:
    import json
    import shutil

    from hemoscope.vision import unfamiliar
    from hemoscope.vision.model_card import file_sha256

    folder = tmp_path / "model"
    folder.mkdir()
    for f in (model_paths[1], model_paths[1].with_suffix(".json")):
        shutil.copy(f, folder / f.name)
    plain = Classifier(folder / "classifier.onnx", threads=1)
    size = plain.input_size
    cells = smear_crops(24, seed=5, size=size)
    _, emb = plain.logits_and_embedding(cells)
    labels = np.arange(len(cells)) % 3
    means, whiten = unfamiliar.fit(emb, labels, len(plain.classes))
    npz = folder / "classifier.unfamiliar.npz"
    unfamiliar.UnfamiliarModel(means, whiten, 0.0).save(npz)
    odd = np.random.default_rng(0).integers(0, 255, (8, size, size, 3)).astype(np.uint8)
    everything = np.concatenate([cells, odd])
    scores = unfamiliar.UnfamiliarModel(means, whiten, 0.0).scores(
        plain.logits_and_embedding(everything)[1]
    )
    card = json.loads((folder / "classifier.json").read_text())
    card["unfamiliar"] = {
        "file": npz.name, "sha256": file_sha256(npz), "threshold": float(np.median(scores)),
    }  # fmt: skip
    (folder / "classifier.json").write_text(json.dumps(card))
    clf = Classifier(folder / "classifier.onnx", threads=1)
    without = clf.classify_crops(everything)
    # A calibration from a very different microscope changes every crop a lot.
    cast = np.clip(cells * (0.5, 0.8, 1.3) + 30, 0, 255).astype(np.uint8)
    clf.set_profile(colour_profile(clf, cast))
    with_profile = clf.classify_crops(everything)
    assert with_profile.probabilities.tolist() != without.probabilities.tolist()
    assert np.all(with_profile.unfamiliarity >= without.unfamiliarity - 1e-9)
    was = ["unfamiliar" in r for r in without.reasons]
    now = ["unfamiliar" in r for r in with_profile.reasons]
    assert any(was) and all(n or not w for w, n in zip(was, now, strict=True))


def test_descriptor_width_comes_from_the_card_or_else_from_the_model() -> None:
    from hemoscope.vision.microscope_cells import descriptor_width

    clf = Classifier(threads=1)
    crop = np.zeros((1, clf.input_size, clf.input_size, 3), np.uint8)
    _, emb = clf.logits_and_descriptor(crop)
    assert descriptor_width(clf, crop) == emb.shape[1] > clf.logits_and_embedding(crop)[1].shape[1]

    class NoOutputs:
        def __init__(self) -> None:
            self.card: dict[str, object] = {}

        def logits_and_embedding(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return np.zeros((len(crops), 8)), np.zeros((len(crops), 5))

    assert descriptor_width(NoOutputs(), crop) == 5


def test_a_profile_written_before_the_average_is_applied_as_it_was_validated(
    model_paths: tuple[Path, Path], tmp_path: Path
) -> None:
    """Format version 2 profiles were fitted and validated on the calibrated crop alone:
    they keep being applied that way; new ones say they average (``colour_view``)."""
    import json

    clf = Classifier(model_paths[1], threads=1)
    size = clf.input_size
    crops = np.clip(smear_crops(12, seed=6, size=size) * (0.8, 1.0, 1.2), 0, 255).astype(np.uint8)
    new = colour_profile(clf, crops).save(tmp_path / "new.json")
    assert LabProfile.load(tmp_path / "new.json").colour_view == "average"
    assert json.loads((tmp_path / "new.json").read_text())["colour_view"] == "average"

    old = new.to_dict()
    old["format_version"] = 2
    del old["colour_view"]
    (tmp_path / "old.json").write_text(json.dumps(old), encoding="utf-8")
    loaded = LabProfile.load(tmp_path / "old.json")
    assert loaded.colour_view == "calibrated" and loaded.colour == new.colour
    assert loaded.colour is not None
    calibrated = clf.logits_and_embedding(loaded.colour.apply(crops))
    clf.set_profile(loaded)
    res = clf.classify_crops(crops)
    np.testing.assert_allclose(
        res.probabilities, softmax(calibrated[0], clf.temperature), atol=1e-6
    )
    with pytest.raises(ProfileError, match="colour view"):
        LabProfile.from_dict({**new.to_dict(), "colour_view": "sideways"})


def test_the_classifier_card_says_how_calibrated_cells_are_seen(
    model_paths: tuple[Path, Path], tmp_path: Path
) -> None:
    """A card with ``colour_view: "calibrated"`` (a classifier measured better on the
    calibrated crop alone) makes its colour calibrations use the calibrated crop alone,
    at run time and in the profiles made for it; an unknown view is refused at load."""
    import json
    import shutil

    from hemoscope.vision.detector import Detector
    from hemoscope.vision.microscope_cells import colour_profile as microscope_profile
    from hemoscope.vision.model_card import ModelError
    from hemoscope.vision.pipeline import Pipeline

    folder = tmp_path / "model"
    folder.mkdir()
    for f in (model_paths[1], model_paths[1].with_suffix(".json")):
        shutil.copy(f, folder / f.name)
    card_path = folder / "classifier.json"
    card = json.loads(card_path.read_text())
    card["colour_reference"] = {"mean": [200, 170, 190], "std": [40, 55, 35]}
    card["colour_view"] = "calibrated"
    card_path.write_text(json.dumps(card))
    clf = Classifier(folder / "classifier.onnx", threads=1)
    assert clf.colour_view == "calibrated"
    crops = smear_crops(12, seed=7, size=clf.input_size)
    pipeline = Pipeline(Detector(model_paths[0], threads=1), clf)
    profile = microscope_profile(pipeline, crops, "scope")
    assert profile.colour_view == "calibrated" and profile.colour is not None
    calibrated = clf.logits_and_embedding(profile.colour.apply(crops))
    clf.set_profile(profile)
    res = clf.classify_crops(crops)
    np.testing.assert_allclose(
        res.probabilities, softmax(calibrated[0], clf.temperature), atol=1e-6
    )

    card["colour_view"] = "sideways"
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelError, match="colour_view"):
        Classifier(folder / "classifier.onnx", threads=1)
