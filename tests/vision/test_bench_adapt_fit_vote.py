"""`benchmarks/bench_adapt_fit.py`'s votes of the labelled cells (the ``neighbour-vote``,
``vote-alone`` and ``prototypes`` variants) on a generated laboratory."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from benchmark_script import load_benchmark


def _bench() -> Any:
    return load_benchmark("bench_adapt_fit")


def _lab(bench: Any) -> Any:
    """Three classes as three directions of a 6-wide descriptor, four noisy views each;
    classes 3-7 have no cells."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    centres = np.eye(6)[:3] * 5.0
    desc = centres[y][None] + rng.normal(0, 0.8, (4, len(y), 6))
    logits = rng.normal(0, 1, (4, len(y), 8))
    card = {
        "classes": [f"c{i}" for i in range(8)],
        "temperature": 1.0,
        "descriptor_spread": {"values": [2.0] * 6},
    }
    return bench.Lab(logits, desc, y, card)


def test_the_labelled_cells_vote_names_the_rest_of_a_separable_laboratory() -> None:
    bench = _bench()
    lab = _lab(bench)
    idx = np.concatenate([np.arange(5), 20 + np.arange(5), 40 + np.arange(5)])  # 60 views
    rest = np.setdiff1d(np.arange(60), idx)
    for prototypes in (False, True):
        p = bench.labelled_vote(lab, idx, rest, prototypes=prototypes)
        assert p.shape == (len(rest), 8)
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
        assert (p[:, 3:] == 0).all()  # classes no labelled cell holds get no vote
        assert (p.argmax(axis=1) == lab.y[rest]).mean() > 0.95


def test_a_vote_of_mislabelled_cells_follows_their_labels() -> None:
    """The vote reads the labels it is given: the same cells named the other way round
    name the rest the other way round (it is not the logits' answer)."""
    bench = _bench()
    lab = _lab(bench)
    idx = np.concatenate([np.arange(5), 20 + np.arange(5), 40 + np.arange(5)])  # 60 views
    rest = np.setdiff1d(np.arange(60), idx)
    lab.y = lab.y.copy()
    truth = lab.y[rest].copy()
    lab.y[idx] = (lab.y[idx] + 1) % 3
    p = bench.labelled_vote(lab, idx, rest, prototypes=False)
    assert (p.argmax(axis=1) == (truth + 1) % 3).mean() > 0.95


def test_the_laboratorys_own_cells_as_neighbours_correct_a_profile_that_knows_nothing() -> None:
    """``lab-neighbours``: with no profile (the shipped logits, here noise) the vote of the
    laboratory's cells, seeded by a few labelled ones, names a separable laboratory; the
    blend is the station's, so the cell's own (wrong) probabilities still count."""
    bench = _bench()
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(3), 40)
    desc = (np.eye(6)[:3] * 5.0)[y][None] + rng.normal(0, 0.8, (4, len(y), 6))
    card = {"classes": [f"c{i}" for i in range(8)], "temperature": 1.0}
    lab = bench.Lab(rng.normal(0, 1, (4, len(y), 8)), desc, y, card)
    idx = np.concatenate([np.arange(5), 40 + np.arange(5), 80 + np.arange(5)])
    rest = np.setdiff1d(np.arange(len(y)), idx)
    alone = (lab.probabilities(None, rest).argmax(axis=1) == y[rest]).mean()
    voted = bench.with_neighbours(lab, None, idx, rest, seed=0, weight=0.8)
    assert alone < 0.5 < 0.9 < voted <= 1.0
    # Its weight is the station's blend: none, and the cells' own calls are back.
    none = bench.with_neighbours(lab, None, idx, rest, seed=0, weight=0.0)
    assert none == pytest.approx(alone, abs=0.05)
