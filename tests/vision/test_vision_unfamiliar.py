"""The unfamiliar-cell signal (`vision.unfamiliar`) on generated embeddings and crops."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hemoscope.vision.model_card import ModelError, file_sha256
from hemoscope.vision.unfamiliar import (
    GUARD_FACTOR,
    SENSITIVITIES,
    STANDARD,
    UnfamiliarModel,
    fit,
    fit_guard,
    fit_nearest,
    sensitivity_text,
)

D = 16


def clusters(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three classes, each a Gaussian around its own centre, one shared covariance."""
    centres = np.eye(3, D) * 8.0
    mix = np.random.default_rng(99).normal(size=(D, D)) / np.sqrt(D)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = centres[y] + rng.normal(size=(n, D)) @ mix
    return x, y


def test_cells_of_known_classes_score_low_and_others_high() -> None:
    x, y = clusters(3000)
    means, whiten = fit(x, y, 3)
    model = UnfamiliarModel(means, whiten, threshold=np.inf)
    scores = model.scores(x)
    assert 0.7 < float(np.median(scores)) < 1.3  # about 1 per dimension for its own kind
    threshold = float(np.quantile(scores, 0.99))
    model = UnfamiliarModel(means, whiten, threshold)
    fresh, _ = clusters(2000, seed=1)
    assert model.flags(fresh).mean() < 0.03  # new cells of known classes: rarely flagged
    # Between two classes, far out, or along a direction no class varies in: flagged.
    odd = np.stack([(means[0] + means[1]) / 2, means[2] * 3, means[0] + 6 * np.eye(D)[D - 1]])
    assert model.flags(odd).all()
    assert model.scores(np.zeros((0, D))).shape == (0,)
    with pytest.raises(ValueError, match="embeddings"):
        model.scores(np.zeros((2, D + 1)))


def test_a_class_without_samples_gets_the_overall_mean() -> None:
    x, y = clusters(500)
    means, _ = fit(x, y, 4)
    assert np.allclose(means[3], x.mean(axis=0))
    with pytest.raises(ValueError, match="two embeddings"):
        fit(x[:1], y[:1], 3)


def test_saved_statistics_round_trip_and_are_checked_against_the_card(tmp_path: Path) -> None:
    x, y = clusters(400)
    means, whiten = fit(x, y, 3)
    path = tmp_path / "classifier.unfamiliar.npz"
    UnfamiliarModel(means, whiten, 2.5).save(path)
    card = {"unfamiliar": {"file": path.name, "sha256": file_sha256(path), "threshold": 2.5}}
    loaded = UnfamiliarModel.from_card(tmp_path / "classifier.onnx", card)
    assert loaded is not None and loaded.threshold == 2.5
    assert np.allclose(loaded.scores(x), UnfamiliarModel(means, whiten, 2.5).scores(x))
    assert UnfamiliarModel.from_card(tmp_path / "classifier.onnx", {}) is None
    card["unfamiliar"]["sha256"] = "0" * 64
    with pytest.raises(ModelError, match="does not match"):
        UnfamiliarModel.from_card(tmp_path / "classifier.onnx", card)
    path.unlink()
    with pytest.raises(ModelError, match="missing"):
        UnfamiliarModel.load(path)
    path.write_text(json.dumps({"not": "npz"}))
    with pytest.raises(ModelError, match="cannot be read"):
        UnfamiliarModel.load(path)


def test_the_nearest_neighbour_score_flags_what_lies_away_from_every_training_cell(
    tmp_path: Path,
) -> None:
    """Cosine distance to the k-th nearest training cell (Sun et al. 2022): low for new
    cells among the training cells, high between them and in a direction none takes; the
    reference is saved at half precision and scored the same after loading."""
    x, y = clusters(3000)
    x = x + 4.0  # away from the origin, where directions are not defined
    means, whiten = fit(x, y, 3)
    reference = fit_nearest(x)
    assert reference.dtype == np.float32 and np.allclose(
        np.linalg.norm(reference, axis=1), 1, atol=1e-3
    )
    model = UnfamiliarModel(means, whiten, np.inf, reference)
    assert model.method == "nearest" and UnfamiliarModel(means, whiten, 1.0).method == "mahalanobis"
    threshold = float(np.quantile(model.scores(x), 0.99))
    model = UnfamiliarModel(means, whiten, threshold, reference)
    fresh, _ = clusters(2000, seed=1)
    assert model.flags(fresh + 4.0).mean() < 0.03
    odd = np.stack([(means[0] + means[1]) / 2, -means[2], means[0] + 30 * np.eye(D)[D - 1]])
    assert model.flags(odd).all()
    assert model.scores(np.zeros((0, D))).shape == (0,)
    path = tmp_path / "classifier.unfamiliar.npz"
    model.save(path)
    loaded = UnfamiliarModel.load(path)
    assert loaded.method == "nearest" and loaded.k == model.k
    np.testing.assert_array_equal(loaded.scores(odd), model.scores(odd))
    np.testing.assert_array_equal(loaded.means, means)  # still there for the cell map
    with pytest.raises(ValueError, match="at least"):
        fit_nearest(x[:3])


def test_each_review_sensitivity_takes_its_own_threshold_from_the_card(tmp_path: Path) -> None:
    """The card's ``thresholds`` (one per level of `SENSITIVITIES`): a stricter level
    flags more of the same cells; an unknown level, or one the card lacks, is refused."""
    x, y = clusters(2000)
    means, whiten = fit(x, y, 3)
    scores = UnfamiliarModel(means, whiten, np.inf).scores(x)
    levels = {name: float(np.quantile(scores, q)) for name, q in SENSITIVITIES.items()}
    path = tmp_path / "classifier.unfamiliar.npz"
    UnfamiliarModel(means, whiten, levels[STANDARD]).save(path)
    entry = {"file": path.name, "sha256": file_sha256(path), "threshold": levels[STANDARD]}
    old = UnfamiliarModel.from_card(tmp_path / "classifier.onnx", {"unfamiliar": entry})
    assert old is not None and old.sensitivity == STANDARD and old.at(STANDARD) is old
    with pytest.raises(ModelError, match="no unfamiliar-cell threshold for the review"):
        old.at("high")  # a card written before the levels existed
    entry["thresholds"] = levels
    model = UnfamiliarModel.from_card(tmp_path / "classifier.onnx", {"unfamiliar": entry})
    assert model is not None
    flagged = {name: float(model.at(name).flags(x).mean()) for name in SENSITIVITIES}
    assert flagged[STANDARD] == pytest.approx(0.01, abs=0.003)
    assert flagged["high"] == pytest.approx(0.10, abs=0.01)
    assert flagged["highest"] == pytest.approx(0.20, abs=0.01)
    high = model.at("high")
    assert high.sensitivity == "high" and high.threshold == levels["high"]
    assert high.at(STANDARD).threshold == levels[STANDARD]
    with pytest.raises(ModelError, match="unknown review sensitivity 'paranoid'"):
        model.at("paranoid")
    assert "10%" in sensitivity_text("high") and sensitivity_text("odd") == "odd"


def test_the_guard_flags_what_points_the_right_way_but_lies_far_out(tmp_path: Path) -> None:
    """The cosine distance sees directions only: a cell along a class's direction but far
    beyond it (bare glass and PBC's platelet images) has close neighbours. The
    Mahalanobis guard flags it at every sensitivity; saved and loaded with the rest."""
    x, y = clusters(3000)
    x = x + 4.0
    means, whiten = fit(x, y, 3)
    reference = fit_nearest(x)
    scores = UnfamiliarModel(means, whiten, np.inf, reference).scores(x)
    plain = UnfamiliarModel(means, whiten, np.inf).mahalanobis(x)
    threshold = float(np.quantile(scores, 0.99))
    guard = fit_guard(plain)
    assert guard == pytest.approx(GUARD_FACTOR * float(np.quantile(plain, 0.99)))
    far = means[:1] * 6.0  # the first class's direction, six times as far
    unguarded = UnfamiliarModel(means, whiten, threshold, reference)
    assert not unguarded.flags(far).any() and not unguarded.beyond_guard(far).any()
    guarded = UnfamiliarModel(means, whiten, threshold, reference, guard=guard)
    assert guarded.flags(far).all() and guarded.beyond_guard(far).all()
    assert guarded.scores(far)[0] == unguarded.scores(far)[0]  # the score is the cosine one
    assert guarded.beyond_guard(x).mean() < 0.002  # the training cells themselves: hardly
    path = tmp_path / "classifier.unfamiliar.npz"
    guarded.save(path)
    loaded = UnfamiliarModel.load(path)
    assert loaded.guard == pytest.approx(guard) and loaded.flags(far).all()
    # The Mahalanobis score alone has no guard: it is its own.
    assert not UnfamiliarModel(means, whiten, np.inf, guard=0.0).beyond_guard(far).any()
