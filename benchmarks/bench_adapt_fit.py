"""How a laboratory profile's head correction is fitted: the unit of each descriptor
dimension, the weight of the shipped logits, the penalties, and self-training.

    python benchmarks/bench_adapt_fit.py [--data ../shared/data] [--k 25 100] [--draws 5]
        [--variants ...] [--model CLASSIFIER.onnx]

For each laboratory under ``other-labs`` (cells as `bench_adapt.py` takes them: jiangxi
framed as ``classify`` frames them, bionet's fields through the pipeline), every cell's
logits and descriptor in the four views `adapt` fits on (`lab_embed.embed_views`). Then,
for k cells drawn stratified (`bench_adapt.draw`, the same draws), each variant fits a
head correction on their views (no colour variant: the head alone) and the rest of the
laboratory is scored; a refused profile scores the shipped model. Variants:

- ``before``: one unit for every dimension, the shipped logits at full weight (the fit
  before the card's descriptor spread);
- ``spread``: each dimension in units of the card's ``descriptor_spread`` (PBC's training
  crops), full weight;
- ``lab-spread``: in units of the laboratory's own cells' spread (all its cells, labels
  unused), full weight;
- ``kept``: `lab_adapt.FITS` as shipped;
- ``weight-0.3``: the card's spread, the shipped logits at 0.3;
- ``scratch``: the card's spread, no shipped logits (a linear head from scratch);
- ``wide-l2``: as kept, with penalties up to 0.3;
- ``self-training``: as kept, then fitted again with the cells of one half of the rest
  that the profile names with probability 0.8 or more added under those names; the other
  half is scored, then the other way round (the mean of the two halves);
- ``uniform-weights`` / ``balanced-weights``: as kept, every cell weighing the same, or
  each class weighing the same (kept: the square root of the inverse class frequency);
- ``absent-prior``: as kept, then the logits of the classes the k cells hold none of
  lowered by log(a / (k + a)), a = 3: with k verified cells and none of a class, the
  laboratory's share of it is believed smaller than the training laboratory's;
- ``neighbour-vote``: as kept, its probabilities averaged with a vote of the 10 labelled
  views most like each scored cell (`lab_neighbours.Neighbourhood.vote` over the
  labelled views, their labels as votes; descriptors in units of the card's spread);
- ``vote-alone`` / ``prototypes``: that vote alone, or the nearest class mean of the
  labelled views (the same cosine, softmax at 0.1) alone, with no head refit;
- ``lab-neighbours``: as kept, with the laboratory's unlabelled cells as neighbours
  (`lab_neighbours`): the profile's probabilities of one half of the rest and the k
  cells' labels spread over their graph, each cell of the other half blended with its
  neighbours' vote as the station blends it (weight ``--neighbour-weight``, 0.8 as
  shipped), then the other way round (the mean of the two halves).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import halves_both_ways, lab_cells, other_labs  # noqa: E402
from bench_adapt import draw  # noqa: E402

from hemoscope.vision import lab_adapt  # noqa: E402
from hemoscope.vision.classification_metrics import softmax  # noqa: E402
from hemoscope.vision.lab_adapt import FITS, AdaptError, adapt  # noqa: E402
from hemoscope.vision.lab_embed import embed_views, views_for  # noqa: E402
from hemoscope.vision.lab_neighbours import WEIGHT, WIDTH, Neighbourhood  # noqa: E402
from hemoscope.vision.pipeline import Pipeline  # noqa: E402

WIDE_L2 = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
SELF_MIN = 0.8
VARIANTS: dict[str, tuple[tuple[float, bool], ...]] = {
    "before": ((1.0, False),),
    "spread": ((1.0, True),),
    "lab-spread": ((1.0, True),),
    "kept": FITS,
    "weight-0.3": ((0.3, True),),
    "scratch": ((1e-9, True),),
    "wide-l2": FITS,
    "self-training": FITS,
    "uniform-weights": FITS,
    "balanced-weights": FITS,
    "absent-prior": FITS,
    "neighbour-vote": FITS,
    "vote-alone": FITS,
    "prototypes": FITS,
    "lab-neighbours": FITS,
}
VOTERS = 10
ABSENT_PRIOR = 3.0


def uniform_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    return np.ones(len(y))


def balanced_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    w = 1.0 / np.maximum(counts[y], 1.0)
    out: np.ndarray = w / w.mean()
    return out


WEIGHTS = {"uniform-weights": uniform_weights, "balanced-weights": balanced_weights}


def labelled_vote(lab: Lab, idx: np.ndarray, rows: np.ndarray, prototypes: bool) -> np.ndarray:
    """Probabilities of cells ``rows`` from the labelled cells ``idx`` alone, in their
    `views_for` views, the descriptors in units of the card's spread: the vote of the
    `VOTERS` most similar labelled views (a `Neighbourhood` whose bank votes are the
    labels, not spread), or the softmax over the cosines to each class's mean view
    (``prototypes``), both at the neighbourhood's width."""
    spread = np.asarray(lab.card["descriptor_spread"]["values"], np.float64)
    v = views_for(len(idx))
    x = np.concatenate(lab.desc[:v, idx]) / spread
    labels = np.tile(lab.y[idx], v)
    n_classes = len(lab.classes)
    q = lab.desc[0, rows] / spread
    if not prototypes:
        bank = Neighbourhood.fit(x, np.eye(n_classes)[labels], neighbours=VOTERS, spread=0.0)
        return bank.vote(q)
    centre = x.mean(axis=0)
    has = np.bincount(labels, minlength=n_classes) > 0
    means = np.zeros((n_classes, x.shape[1]))
    for c in np.flatnonzero(has):
        means[c] = x[labels == c].mean(axis=0) - centre
    unit = means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    cos = (q - centre) @ unit.T / np.linalg.norm(q - centre, axis=1, keepdims=True)
    cos[:, ~has] = -np.inf
    return softmax(cos, WIDTH)


def with_neighbours(
    lab: Lab, profile: Any, idx: np.ndarray, rest: np.ndarray, seed: int, weight: float
) -> float:
    """Accuracy of the profile blended with the vote of the laboratory's own cells: a
    neighbourhood of one half of ``rest`` (the profile's probabilities) and the labelled
    cells ``idx`` (their labels), scoring the other half; both ways, the mean."""
    accs = []
    eye = np.eye(len(lab.classes))
    for bank, scored in halves_both_ways(len(rest), seed):
        a, b = rest[bank], rest[scored]
        x = np.concatenate([lab.desc[0, a], lab.desc[0, idx]])
        p = np.concatenate([lab.probabilities(profile, a), eye[lab.y[idx]]])
        nb = Neighbourhood.fit(x, p, weight=weight)
        q = nb.blend(lab.probabilities(profile, b), lab.desc[0, b])
        accs.append(float((q.argmax(axis=1) == lab.y[b]).mean()))
    return float(np.mean(accs))


def absent_lowered(profile: Any, k: int) -> Any:
    """The profile with the classes its k cells hold none of lowered by log(a / (k + a))."""
    if profile is None:
        return None
    bias = profile.delta_bias.copy()
    for i, name in enumerate(profile.classes):
        if name not in profile.cells_per_class:
            bias[i] += np.log(ABSENT_PRIOR / (k + ABSENT_PRIOR))
    return replace(profile, delta_bias=bias)


class Lab:
    """A laboratory's cells in the four views: logits (4, N, C), descriptors (4, N, D)."""

    def __init__(self, logits: np.ndarray, desc: np.ndarray, y: np.ndarray, card: dict) -> None:
        self.logits, self.desc, self.y, self.card = logits, desc, y, card
        self.temperature = float(card["temperature"])
        self.classes = tuple(str(c) for c in card["classes"])

    def fit(self, idx: np.ndarray, labels: np.ndarray, fits: Any, card: dict, seed: int) -> Any:
        """The profile fitted on cells ``idx`` named ``labels`` (None when refused)."""
        v = views_for(len(idx))
        cell = np.tile(np.arange(len(idx)), v)
        try:
            res = adapt(
                np.concatenate(self.desc[:v, idx]), np.concatenate(self.logits[:v, idx]),
                labels[cell], groups=cell, primary=np.arange(len(cell)) < len(idx),
                classes=self.classes, base_temperature=self.temperature,
                models={"classifier": card}, name="x", seed=seed, fits=fits,
            )  # fmt: skip
        except AdaptError:
            return None
        return None if res.refusal else res.profile

    def probabilities(self, profile: Any, rows: np.ndarray) -> np.ndarray:
        if profile is None:
            return softmax(self.logits[0, rows], self.temperature)
        return profile.probabilities(self.logits[0, rows], self.desc[0, rows])


def score(
    lab: Lab, variant: str, k: int, seed: int, neighbour_weight: float = WEIGHT
) -> tuple[float, bool]:
    """Accuracy on the rest of the laboratory, and whether the profile was refused."""
    y = lab.y
    idx = draw(y, k, seed)
    rest = np.setdiff1d(np.arange(len(y)), idx)
    card = lab.card
    if variant == "lab-spread":
        spread = lab.desc[0].std(axis=0)
        card = {**card, "descriptor_spread": {"values": [float(v) for v in spread]}}
    grid, weights = lab_adapt.L2_GRID, lab_adapt._weights
    if variant == "wide-l2":
        lab_adapt.L2_GRID = WIDE_L2  # read by the penalty's inner cross-validation
    lab_adapt._weights = WEIGHTS.get(variant, weights)  # read by every fit
    try:
        profile = lab.fit(idx, y[idx], VARIANTS[variant], card, seed)
    finally:
        lab_adapt.L2_GRID, lab_adapt._weights = grid, weights
    if variant == "absent-prior":
        profile = absent_lowered(profile, k)
    if variant == "lab-neighbours":
        return with_neighbours(lab, profile, idx, rest, seed, neighbour_weight), profile is None
    if variant in ("neighbour-vote", "vote-alone", "prototypes"):
        vote = labelled_vote(lab, idx, rest, prototypes=variant == "prototypes")
        if variant == "neighbour-vote":
            vote = (vote + lab.probabilities(profile, rest)) / 2
        return float((vote.argmax(axis=1) == y[rest]).mean()), profile is None
    if variant != "self-training":
        pred = lab.probabilities(profile, rest).argmax(axis=1)
        return float((pred == y[rest]).mean()), profile is None
    order = np.random.default_rng(seed).permutation(rest)
    halves = np.array_split(order, 2)
    accs = []
    for named, scored in ((halves[0], halves[1]), (halves[1], halves[0])):
        p = lab.probabilities(profile, named)
        sure = named[p.max(axis=1) >= SELF_MIN]
        more = np.concatenate([idx, sure])
        names = np.concatenate([y[idx], p[p.max(axis=1) >= SELF_MIN].argmax(axis=1)])
        again = lab.fit(more, names, FITS, card, seed) or profile
        accs.append(float((lab.probabilities(again, scored).argmax(axis=1) == y[scored]).mean()))
    return float(np.mean(accs)), profile is None


def lab_views(pipeline: Pipeline, root: Path, kind: Any, cells: Any = None) -> Lab:
    """The laboratory's cells in `Lab`'s four views; ``cells``: already framed by
    `_common.lab_cells` (otherwise framed here)."""
    clf = pipeline.classifier
    cells = lab_cells(pipeline, root, kind) if cells is None else cells
    logits, desc, _, _ = embed_views(clf, cells.array(), views=4)
    n = len(cells.labels)
    card = clf.card  # type: ignore[attr-defined]
    return Lab(logits.reshape(4, n, -1), desc.reshape(4, n, -1), np.asarray(cells.labels), card)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--k", type=int, nargs="+", default=[25, 100])
    ap.add_argument("--draws", type=int, default=5)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", type=Path, default=None, help="classifier ONNX file (with card)")
    ap.add_argument("--neighbour-weight", type=float, default=WEIGHT, help="lab-neighbours' blend")
    args = ap.parse_args()
    pipeline = Pipeline.load(classifier_path=args.model, threads=args.threads)
    card = pipeline.classifier.card  # type: ignore[attr-defined]
    print(f"classifier {card.get('version')} sha256 {card['sha256'][:12]}; head refit alone")
    print(f"{'lab':<9}{'variant':<15}{'k':>5}  {'accuracy':>14}  refused  per draw")
    for name, kind, root in other_labs(args.data):
        lab = lab_views(pipeline, root, kind)
        for variant in args.variants:
            for k in args.k:
                runs: list[tuple[float, bool]] = [
                    score(lab, variant, k, seed, args.neighbour_weight)
                    for seed in range(args.draws)
                ]
                report(name, variant, k, runs)
    return 0


def report(name: str, variant: str, k: int, runs: list[tuple[float, bool]]) -> None:
    accs = [a for a, _ in runs]
    per = " ".join(f"{100 * a:.1f}" for a in accs)
    refused = sum(r for _, r in runs)
    print(
        f"{name:<9}{variant:<15}{k:>5}  {100 * np.mean(accs):5.1f} ± {100 * np.std(accs):3.1f} %"
        f"  {refused}/{len(runs)}      {per}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
