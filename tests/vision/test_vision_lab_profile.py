"""Laboratory profiles: the head refit on one laboratory's embeddings (numpy only), its
cross-validated before/after, refusal when worse, and the profile file's round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hemoscope.vision.lab_adapt import AdaptError, adapt, check_cells
from hemoscope.vision.lab_profile import PROFILE_ROLE, LabProfile, ProfileError
from hemoscope.vision.model_card import file_sha256

CLASSES = ("a", "b", "c", "d")
D = 16
MODELS = {
    "classifier": {"name": "clf", "version": "1", "sha256": "c" * 64, "classes": list(CLASSES)},
    "detector": {"name": "det", "version": "2", "sha256": "d" * 64},
}


def shipped_head(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Class means of the training laboratory, and a head that separates them."""
    means = rng.normal(0, 1, (len(CLASSES), D)) * 2
    return means, means * 1.5


def lab(rng: np.random.Generator, means: np.ndarray, n: int, shift: np.ndarray, classes=(0, 1, 2)):
    """Cells of another laboratory: the same classes, their embeddings moved by ``shift``
    (its stain and camera) and mixed a little."""
    y = rng.choice(np.array(classes), n)
    e = means[y] + shift + rng.normal(0, 0.8, (n, D))
    return e, y


def logits_of(head: np.ndarray, e: np.ndarray) -> np.ndarray:
    return e @ head.T


def test_adapt_recovers_a_shifted_laboratory() -> None:
    rng = np.random.default_rng(0)
    means, head = shipped_head(rng)
    shift = -1.2 * means[0] + 1.2 * means[1]  # the lab's cells of every class look like "b"
    e, y = lab(rng, means, 120, shift)
    e_test, y_test = lab(rng, means, 400, shift)
    shipped = (logits_of(head, e_test).argmax(1) == y_test).mean()
    res = adapt(
        e, logits_of(head, e), y, classes=CLASSES, base_temperature=1.0, models=MODELS, name="x"
    )
    profile = res.profile
    adapted = (profile.probabilities(logits_of(head, e_test), e_test).argmax(1) == y_test).mean()
    assert shipped < 0.75
    assert adapted > 0.9 and adapted > shipped + 0.2
    # Its own cross-validated measurement says the same, per class too.
    assert res.after.accuracy > res.before.accuracy + 0.2
    assert set(res.before.per_class) == {"a", "b", "c"}
    assert not res.refusal
    # A class the laboratory gave no cell of is left as the shipped model knows it.
    assert not profile.delta_weight[3].any() and profile.delta_bias[3] == 0
    assert profile.cells_per_class == {c: int((y == i).sum()) for i, c in enumerate("abc")}
    assert "a" in res.table() and "balanced" in res.table()


def test_a_profile_worse_than_the_shipped_model_is_refused() -> None:
    # The shipped model is right on every cell; the embeddings carry nothing but noise
    # that the correction can only overfit: held-back cells come out worse.
    rng = np.random.default_rng(3)
    n = 40
    y = np.array([0] * 32 + [1] * 8)
    base = np.zeros((n, len(CLASSES)))
    base[np.arange(n), y] = 0.3
    e = rng.normal(0, 1, (n, D))
    e[:, 0] += 5 * (y == 0)  # the majority's cells share a direction ...
    e[y == 1, 0] += 5 * (rng.random(8) < 0.6)  # ... which most minority cells share too
    res = adapt(e, base, y, classes=CLASSES, base_temperature=1.0, models=MODELS, name="x")
    assert res.before.accuracy == 1.0
    assert res.after.accuracy < 1.0
    assert "worse than the shipped model" in res.refusal
    assert "accuracy" in res.refusal


def test_bad_cells_are_refused_with_the_reason() -> None:
    with pytest.raises(AdaptError, match="too few labelled cells: 4"):
        check_cells([0, 1, 0, 1], CLASSES)
    with pytest.raises(AdaptError, match="single class \\(b\\)"):
        check_cells([1] * 30, CLASSES)


def fitted(tmp_path: Path) -> tuple[LabProfile, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    means, head = shipped_head(rng)
    e, y = lab(rng, means, 60, means[1] - means[0])
    res = adapt(
        e, logits_of(head, e), y, classes=CLASSES, base_temperature=0.7, models=MODELS, name="x"
    )
    return res.profile.save(tmp_path / "lab.json"), logits_of(head, e), e


def test_profile_round_trip_and_identity(tmp_path: Path) -> None:
    saved, logits, e = fitted(tmp_path)
    loaded = LabProfile.load(tmp_path / "lab.json")
    assert loaded.sha256 == saved.sha256 == file_sha256(tmp_path / "lab.json")
    np.testing.assert_array_equal(loaded.delta_weight, saved.delta_weight)
    np.testing.assert_allclose(loaded.probabilities(logits, e), saved.probabilities(logits, e))
    assert loaded.models["classifier"]["sha256"] == "c" * 64
    assert loaded.models["detector"]["sha256"] == "d" * 64
    stamp = loaded.stamp()
    assert (
        stamp.sha256 == loaded.sha256 and PROFILE_ROLE in stamp.name and "60 cells" in stamp.version
    )
    data = json.loads((tmp_path / "lab.json").read_text())
    assert data["cells"] == 60 and data["validation"]["profile"]["accuracy"] > 0


def test_a_profile_for_other_model_files_is_refused(tmp_path: Path) -> None:
    saved, _, _ = fitted(tmp_path)
    saved.check_models(MODELS)  # the models it was made for
    other = {**MODELS, "classifier": {**MODELS["classifier"], "sha256": "e" * 64}}
    with pytest.raises(ProfileError, match=r"was made for the classifier clf 1 .*cccccccccccc"):
        saved.check_models(other)
    other = {**MODELS, "detector": {"name": "det", "version": "3", "sha256": "f" * 64}}
    with pytest.raises(ProfileError, match="detector"):
        saved.check_models(other)


def test_damaged_or_foreign_files_are_refused(tmp_path: Path) -> None:
    fitted(tmp_path)
    path = tmp_path / "lab.json"
    data = json.loads(path.read_text())
    data["head"]["delta_bias"] = data["head"]["delta_bias"][:2]
    path.write_text(json.dumps(data))
    with pytest.raises(ProfileError, match="does not fit"):
        LabProfile.load(path)
    path.write_text('{"name": "x"}')
    with pytest.raises(ProfileError, match="not a HemoScope laboratory profile"):
        LabProfile.load(path)
    with pytest.raises(ProfileError, match="not found"):
        LabProfile.load(tmp_path / "missing.json")


def test_views_and_cases_are_held_back_together() -> None:
    from hemoscope.vision.lab_adapt import _folds

    rng = np.random.default_rng(4)
    means, head = shipped_head(rng)
    e, y = lab(rng, means, 60, means[1] - means[0])
    # Each cell in two views (the second one moved a little), and six cases of ten cells.
    views = np.concatenate([e, e + rng.normal(0, 0.1, e.shape)])
    cell = np.tile(np.arange(60), 2)
    case = cell // 10
    primary = np.arange(120) < 60
    for groups, held in ((cell, "cells"), (case, "cases")):
        fold = _folds(y[cell], 5, 0, groups)
        for g in np.unique(groups):
            assert len(set(fold[groups == g])) == 1  # never one view or case on both sides
        res = adapt(
            views, logits_of(head, views), y[cell], classes=CLASSES, base_temperature=1.0,
            models=MODELS, name="x", groups=groups, primary=primary,
        )  # fmt: skip
        assert f"on 60 cells (folds of whole {held})" in res.method
        assert res.profile.cells == 60 and sum(n for n, _ in res.after.per_class.values()) == 60
        assert res.profile.fit["views"] == 2


def test_refusal_weighs_accuracy_and_the_classes_measured_well_enough(tmp_path: Path) -> None:
    from hemoscope.vision.lab_adapt import Adaptation, Score

    profile, _, _ = fitted(tmp_path)
    shipped = Score(0.50, 0.60, {"a": (40, 0.4), "b": (20, 0.7), "c": (2, 1.0)})
    # Far better overall; the one class of two cells lost one: still a better profile.
    better = Score(0.85, 0.70, {"a": (40, 0.95), "b": (20, 0.65), "c": (2, 0.5)})
    assert Adaptation(profile, shipped, better, "cv", 1.0).refusal == ""
    # Better overall, but a class of 20 cells lost more than the others gained.
    lopsided = Score(0.55, 0.50, {"a": (40, 0.75), "b": (20, 0.10), "c": (2, 1.0)})
    why = Adaptation(profile, shipped, lopsided, "cv", 1.0).refusal
    assert "balanced accuracy over the classes of 5 cells or more 42.5% < 55.0%" in why
    worse = Score(0.45, 0.60, shipped.per_class)
    assert "accuracy 45.0% < 50.0%" in Adaptation(profile, shipped, worse, "cv", 1.0).refusal


def test_the_usual_unfamiliar_share_round_trips_and_is_checked(tmp_path: Path) -> None:
    from dataclasses import replace

    from hemoscope.vision.lab_profile import UsualUnfamiliar

    saved, _, _ = fitted(tmp_path)
    assert saved.usual_unfamiliar is None and saved.usual_note() == ""
    with_share = replace(saved, usual_unfamiliar=UsualUnfamiliar(0.123, 800))
    back = with_share.save(tmp_path / "usual.json")
    loaded = LabProfile.load(tmp_path / "usual.json")
    assert loaded.usual_unfamiliar == UsualUnfamiliar(0.123, 800) == back.usual_unfamiliar
    assert "Flagged unfamiliar: 12% of 800 of this microscope's white cells" in loaded.usual_note()
    with pytest.raises(ProfileError, match="usual unfamiliar share"):
        replace(saved, usual_unfamiliar=UsualUnfamiliar(1.5, 800))
    data = json.loads((tmp_path / "usual.json").read_text())
    data["usual_unfamiliar"] = {"share": "many"}
    (tmp_path / "usual.json").write_text(json.dumps(data))
    with pytest.raises(ProfileError, match="incomplete or damaged"):
        LabProfile.load(tmp_path / "usual.json")
