"""The laboratory's own cells as neighbours: scattered errors outvoted, the file round
trip, refusals, and the profile that holds it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hemoscope.vision import lab_neighbours
from hemoscope.vision.classification_metrics import softmax
from hemoscope.vision.classifier import Classifier
from hemoscope.vision.lab_neighbours import MIN_BANK, Neighbourhood, NeighbourhoodError
from hemoscope.vision.lab_profile import LabProfile, ProfileError

CLASSES = 4
WIDTH = 24


def laboratory(n: int, seed: int, wrong: float = 0.25) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Descriptors of ``n`` cells in one cluster per class, the true classes, and a
    classifier's probabilities that give a ``wrong`` share of the cells, at random, a
    wrong class with 0.7."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(0, 1, (CLASSES, WIDTH)) * 3
    y = rng.integers(0, CLASSES, n)
    x = centres[y] + rng.normal(0, 1, (n, WIDTH)) + 5.0  # an offset the centring removes
    called = y.copy()
    err = rng.random(n) < wrong
    called[err] = (y[err] + rng.integers(1, CLASSES, err.sum())) % CLASSES
    p = np.full((n, CLASSES), 0.3 / (CLASSES - 1))
    p[np.arange(n), called] = 0.7
    return x, y, p


def test_scattered_errors_are_outvoted_on_cells_not_in_the_bank() -> None:
    x, _, p = laboratory(300, seed=1)
    nb = Neighbourhood.fit(x, p)
    new_x, new_y, new_p = laboratory(200, seed=2)
    own = (new_p.argmax(1) == new_y).mean()
    blended = nb.blend(new_p, new_x)
    after = (blended.argmax(1) == new_y).mean()
    assert own < 0.8 and after > 0.97, (own, after)
    np.testing.assert_allclose(blended.sum(axis=1), 1.0)
    # The cell's own probabilities still count: with weight 0 nothing changes.
    np.testing.assert_allclose(replace(nb, weight=0.0).blend(new_p, new_x), new_p)


def test_a_class_the_classifier_gets_wrong_everywhere_is_not_mended() -> None:
    """The vote spreads the classifier's own calls: it mends scattered errors, not a
    systematic one (that needs labelled cells, `hemoscope adapt`)."""
    x, y, p = laboratory(300, seed=3, wrong=0.0)
    p[y == 0] = np.roll(p[y == 0], 1, axis=1)  # every class-0 cell called class 1
    nb = Neighbourhood.fit(x, p)
    new_x, new_y, new_p = laboratory(100, seed=4, wrong=0.0)
    new_p[new_y == 0] = np.roll(new_p[new_y == 0], 1, axis=1)
    blended = nb.blend(new_p, new_x)
    assert (blended[new_y == 0].argmax(1) == 1).all()


def test_a_class_absent_from_the_bank_keeps_its_own_probabilities_and_is_flagged_rare() -> None:
    """A laboratory that calibrated on ordinary samples has (nearly) no cells of a rare
    class: the vote cannot speak for one, so the cell keeps its own class, and `rare`
    sends it to review."""
    x, y, p = laboratory(300, seed=7, wrong=0.0)
    ordinary = y != 3
    nb = Neighbourhood.fit(x[ordinary], p[ordinary])
    new_x, new_y, new_p = laboratory(100, seed=8, wrong=0.0)
    np.testing.assert_array_equal(nb.rare(new_p), new_y == 3)
    trusted = np.arange(100) % 4 != 0  # the classifier confident and the cell familiar
    out, kept = nb.apply(new_p, new_x, trusted)
    np.testing.assert_array_equal(kept, (new_y == 3) & trusted)
    np.testing.assert_allclose(out[kept], new_p[kept])
    np.testing.assert_allclose(out[~kept], nb.blend(new_p, new_x)[~kept])
    assert (out[kept].argmax(1) == 3).all()
    # Voted on, the rare class's cells take their neighbours' classes.
    assert (out[(new_y == 3) & ~trusted].argmax(1) != 3).mean() > 0.5


def test_round_trip_and_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    x, _, p = laboratory(120, seed=5)
    nb = Neighbourhood.fit(x, p)
    back = Neighbourhood.from_dict(nb.to_dict())
    assert back.cells == 120 and back.width_of_descriptor == WIDTH
    np.testing.assert_allclose(back.vote(x[:20]), nb.vote(x[:20]), atol=2e-3)
    with pytest.raises(NeighbourhoodError, match=f"at least {MIN_BANK}"):
        Neighbourhood.fit(x[: MIN_BANK - 1], p[: MIN_BANK - 1])
    with pytest.raises(ValueError, match=f"descriptors \\(N, {WIDTH}\\)"):
        nb.vote(x[:3, :10])
    damaged = nb.to_dict()
    damaged["bank"] = {**damaged["bank"], "base64": damaged["bank"]["base64"][:-8]}
    with pytest.raises(NeighbourhoodError):
        Neighbourhood.from_dict(damaged)
    monkeypatch.setattr(lab_neighbours, "MAX_BANK", 60)
    assert Neighbourhood.fit(x, p).cells == 60


def profile_of(clf: Classifier, nb: Neighbourhood | None) -> LabProfile:
    return LabProfile.unlabelled(
        classes=tuple(clf.classes),
        embedding_size=clf.descriptor_size or clf.embedding_size,
        base_temperature=clf.temperature,
        models={"classifier": clf.card},
        name="scope 3",
        neighbours=nb,
    )


def test_the_classifier_blends_the_vote_and_keeps_its_unfamiliar_flag(
    model_paths: tuple[Path, Path], tmp_path: Path
) -> None:
    from tests.vision.test_vision_colour_calibration import smear_crops

    clf = Classifier(model_paths[1], threads=1)
    crops = smear_crops(MIN_BANK + 10, seed=6, size=clf.input_size)
    logits, desc = clf.seen_by(crops, None)
    own = softmax(logits, clf.temperature)
    profile = profile_of(clf, Neighbourhood.fit(desc, own)).save(tmp_path / "lab.json")
    loaded = LabProfile.load(tmp_path / "lab.json")
    assert loaded.neighbours is not None and loaded.neighbours.cells == MIN_BANK + 10
    assert loaded.sha256 == profile.sha256 and "neighbour cells" in loaded.kind
    plain = clf.classify_crops(crops[:8])
    clf.set_profile(loaded)
    with_vote = clf.classify_crops(crops[:8])
    trusted = (own[:8].max(axis=1) >= clf.review_threshold) & ~plain.review
    expected, rare = loaded.neighbours.apply(own[:8], desc[:8], trusted)
    np.testing.assert_allclose(with_vote.probabilities, expected, atol=1e-5)
    np.testing.assert_array_equal(with_vote.unfamiliarity, plain.unfamiliarity)
    np.testing.assert_array_equal(
        with_vote.review, plain.review | rare | (with_vote.confidence < clf.review_threshold)
    )
    assert all(
        ("rare among this microscope" in r) == bool(f)
        for r, f in zip(with_vote.reasons, rare, strict=True)
    )
    # A neighbourhood of other descriptors is refused.
    with pytest.raises(ProfileError, match="neighbourhood does not fit"):
        profile_of(
            clf, Neighbourhood.fit(np.ones((MIN_BANK, 3)) + np.eye(MIN_BANK, 3), own[:MIN_BANK])
        )


def test_a_damaged_neighbourhood_makes_the_profile_refused_with_a_clear_message(
    tmp_path: Path,
) -> None:
    x, _, p = laboratory(80, seed=9)
    profile = LabProfile.unlabelled(
        classes=("a", "b", "c", "d"),
        embedding_size=WIDTH,
        base_temperature=1.0,
        models={"classifier": {"sha256": "x"}},
        name="scope 4",
        neighbours=Neighbourhood.fit(x, p),
    ).save(tmp_path / "lab.json")
    data = profile.to_dict()
    data["neighbours"]["votes"]["base64"] = "not base64!"
    (tmp_path / "bad.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ProfileError, match="neighbourhood"):
        LabProfile.load(tmp_path / "bad.json")
    data["neighbours"] = profile.to_dict()["neighbours"]
    data["neighbours"]["centre"] = data["neighbours"]["centre"][:5]
    (tmp_path / "bad.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ProfileError, match="neighbourhood"):
        LabProfile.load(tmp_path / "bad.json")
