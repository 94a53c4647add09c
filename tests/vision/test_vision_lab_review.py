"""A labelled profile's review threshold: lowered below the card's only as far as its own
cells' held-back calls stay right, used by the classifier at the standard review
sensitivity only, kept in the profile file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hemoscope.vision.classifier import Classifier
from hemoscope.vision.lab_adapt import adapt
from hemoscope.vision.lab_profile import LabProfile, ProfileError
from hemoscope.vision.lab_review import MIN_REVIEW_CELLS, REVIEW_GRID, review_threshold_for


def _calls(confidence: list[float], right: list[bool]) -> tuple[np.ndarray, np.ndarray]:
    """Two-class probabilities with these top probabilities; labels right or not."""
    c = np.asarray(confidence)
    p = np.stack([c, 1 - c], axis=1)
    y = np.where(np.asarray(right), 0, 1)
    return p, y


def test_the_threshold_goes_down_while_the_cells_above_it_stay_right() -> None:
    # 40 sure and right cells, then 10 at 0.75 of which 3 wrong (right 47 of 50: 94 %).
    p, y = _calls([0.95] * 40 + [0.75] * 10, [True] * 40 + [True] * 7 + [False] * 3)
    assert review_threshold_for(p, y, 0.9) == 0.8
    # All right: as low as the grid goes.
    p, y = _calls([0.95] * 30 + [0.55] * 10, [True] * 40)
    assert review_threshold_for(p, y, 0.9) == min(REVIEW_GRID)
    # A threshold is only taken with every one above it: a wrong sure call at the top
    # stops the descent however right the cells below are.
    p, y = _calls([0.88] * 2 + [0.95] * 30, [False, False] + [True] * 30)
    assert review_threshold_for(p, y, 0.9) is None
    # Too few cells to show anything; no card threshold; only thresholds below the card's.
    p, y = _calls([0.95] * (MIN_REVIEW_CELLS - 1), [True] * (MIN_REVIEW_CELLS - 1))
    assert review_threshold_for(p, y, 0.9) is None
    assert review_threshold_for(*_calls([0.95] * 40, [True] * 40), None) is None
    p, y = _calls([0.95] * 30 + [0.82] * 10, [True] * 30 + [False] * 10)
    assert review_threshold_for(p, y, 0.8) is None


def test_adapt_records_the_threshold_and_its_held_back_figures() -> None:
    rng = np.random.default_rng(2)
    n = 120
    y = rng.integers(0, 3, n)
    e = np.eye(3)[y] * 4 + rng.normal(0, 0.3, (n, 3))  # three well separated classes
    base = np.zeros((n, 3))
    card = {"name": "c", "version": "1", "sha256": "c" * 64, "review_threshold": 0.9}
    res = adapt(
        e, base, y, classes=("a", "b", "c"), base_temperature=1.0,
        models={"classifier": card}, name="x",
    )  # fmt: skip
    profile = res.profile
    assert profile.review_threshold is not None and profile.review_threshold < 0.9
    review = profile.validation["review"]
    assert review["threshold"] == profile.review_threshold
    assert review["unflagged_right"] >= 0.97
    assert "Flags for review the cells it calls with less than" in profile.review_note()
    # Without a card threshold to start from, the profile holds none.
    card.pop("review_threshold")
    res = adapt(
        e, base, y, classes=("a", "b", "c"), base_temperature=1.0,
        models={"classifier": card}, name="x",
    )  # fmt: skip
    assert res.profile.review_threshold is None and res.profile.review_note() == ""
    # A profile that keeps the card's threshold still says how many of its cells it flags.
    card["review_threshold"] = 0.9
    noisy = rng.normal(0, 1, (n, 3))  # descriptors that tell nothing: no lower threshold
    res = adapt(
        noisy, base, y, classes=("a", "b", "c"), base_temperature=1.0,
        models={"classifier": card}, name="x",
    )  # fmt: skip
    assert res.profile.review_threshold is None
    assert res.profile.review_note().startswith(
        "Flags for review the cells it calls with less than 0.90 probability, the card's"
    )


def _profile(clf: Classifier, threshold: float | None) -> LabProfile:
    d = clf.descriptor_size or clf.embedding_size
    profile = LabProfile.unlabelled(
        classes=tuple(clf.classes), embedding_size=d, base_temperature=clf.temperature,
        models={"classifier": clf.card}, name="scope",
    )  # fmt: skip
    return replace(profile, review_threshold=threshold)


def test_the_classifier_uses_the_profiles_threshold_at_standard_sensitivity_only(
    tmp_path: Path,
) -> None:
    clf = Classifier(threads=1)  # the shipped one: it has statistics for every sensitivity
    card = float(clf.card["review_threshold"])
    assert clf.review_threshold == card
    saved = _profile(clf, 0.6).save(tmp_path / "lab.json")
    loaded = LabProfile.load(tmp_path / "lab.json")
    assert loaded.review_threshold == 0.6 and loaded.sha256 == saved.sha256
    assert "review threshold" not in loaded.to_dict()["unchanged"]
    assert clf.threshold_with(loaded) == 0.6 and clf.review_threshold == card  # unchanged
    clf.set_profile(loaded)
    assert clf.review_threshold == 0.6
    clf.set_sensitivity("high")
    assert clf.review_threshold == card  # suspecting blasts: the card's, not the lab's
    clf.set_sensitivity("standard")
    clf.set_profile(_profile(clf, None))
    assert clf.review_threshold == card
    given = Classifier(threads=1, review_threshold=0.95, profile=loaded)
    assert given.review_threshold == 0.95  # the caller's threshold wins
    with pytest.raises(ProfileError, match="review threshold"):
        _profile(clf, 1.5)
