"""How the review flags treat a class the classifier was never trained on: a stand-in for
the blasts, smudge cells and variant lymphocytes of leukaemia samples, which no class of
the shipped classifier covers and of which there are no labelled images here.

    python benchmarks/unseen_class.py --model RUN/classifier.onnx --unseen ig \
                                      [--data ../shared/data/pbc] [--every 1]
                                      [--neighbours] [--cases]

RUN is a classifier trained on PBC without the ``--unseen`` class (its folder left out
of the training tree, e.g. ``train classifier --data PBC-WITHOUT-IG --split-seed
20261122``, so the other classes keep the shipped model's split). Its unfamiliar-cell
statistics are fitted as the export fits them (`vision.unfamiliar.fit`) on its training
split's cells, but of the classes it saw only (a class without cells gets no mean), with
the threshold at the 99 % quantile of its validation cells. Then every image of the unseen
class, none of which it saw, and its validation cells of the seen classes are classified
as training frames them (two turns, as at run time) and the review flags counted: low
confidence (below the card's review threshold), out of focus, and unfamiliar: by the
Mahalanobis distance of the embedding, by the distance to the nearest training cells
(Sun et al. 2022; the shipped score, with its Mahalanobis guard, its quantiles named by
the review sensitivity they set), and, where the graph has the ``features`` output, by
the Mahalanobis distance of the whole descriptor (several layers, as Lee et al. 2018
combine them) and its distance to the nearest training cells, each with its AUROC
(unseen against seen cells). Also printed: what the unflagged unseen cells were called,
and the flagged fractions at stricter unfamiliar thresholds (lower quantiles of the seen
validation cells), the trade-off a laboratory would make.

``--neighbours`` adds what a laboratory's own cells as neighbours (`vision.lab_neighbours`,
the profile ``hemoscope adapt --colour-only`` makes) do to those flags: the seen classes'
validation cells are halved at random; a neighbourhood is fitted on one half (labels
unused) and the other half and the unseen cells are flagged with the blended
probabilities as the classifier applies them (low confidence, out of focus, unfamiliar
at the standard sensitivity, which the neighbourhood does not change, or a confident
call of a class rare among the bank's cells, `lab_neighbours.RARE_REASON`). Twice: a
bank of seen cells only (a laboratory that calibrated on ordinary samples), and a bank
that also holds half of the unseen cells (one whose calibration cases held them), the
other half scored.

``--cases`` adds how often a case holding some never-seen cells is pointed out as unusual
for its microscope (`core.unusual`, what the station's banner says): the seen validation
cells halved, one half's unfamiliar share (unfamiliar at the standard sensitivity, or out
of focus) taken as the microscope's usual share as a calibration records it, and cases of
50 and 100 white cells drawn from the other half with 0 to 50 % never-seen cells.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hemoscope.core.unusual import unusual  # noqa: E402
from hemoscope.training.colour_reference import nominal_crops  # noqa: E402
from hemoscope.training.pbc_data import list_samples, stratified_split  # noqa: E402
from hemoscope.training.train_classifier import CLASSES  # noqa: E402
from hemoscope.vision.classification_metrics import softmax  # noqa: E402
from hemoscope.vision.classifier import Classifier  # noqa: E402
from hemoscope.vision.focus import OUT_OF_FOCUS_WIDTH, blur_width  # noqa: E402
from hemoscope.vision.lab_neighbours import Neighbourhood  # noqa: E402
from hemoscope.vision.unfamiliar import (  # noqa: E402
    NEIGHBOURS,
    SENSITIVITIES,
    UnfamiliarModel,
    fit,
    fit_guard,
    fit_nearest,
    nearest_scores,
)

QUANTILES = (0.99, 0.95, 0.90, 0.80)
KNN = NEIGHBOURS


def descriptors(clf: Classifier, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each crop's logits and descriptor (embedding, then the middle stages where the
    graph has them), two turns as at run time."""
    parts = [clf.logits_and_descriptor(crops[s : s + 256]) for s in range(0, len(crops), 256)]
    logits = np.concatenate([p[0] for p in parts]).astype(np.float64)
    return logits, np.concatenate([p[1] for p in parts]).astype(np.float64)


def low_or_blurred(clf: Classifier, logits: np.ndarray, crops: np.ndarray) -> np.ndarray:
    """The review flags other than unfamiliar, as `Classifier.classify_crops` sets them:
    low confidence (calibrated) or out of focus."""
    low = softmax(logits, clf.temperature).max(axis=1) < clf.review_threshold
    return np.asarray(low | (blur_width(crops) > OUT_OF_FOCUS_WIDTH), bool)


def mahalanobis(
    train: np.ndarray, labels: np.ndarray, seen: list[int]
) -> Callable[[np.ndarray], np.ndarray]:
    """The Mahalanobis score (`vision.unfamiliar`), fitted on the seen classes only."""
    means, whiten = fit(train, labels, len(CLASSES))
    return UnfamiliarModel(means[seen], whiten, np.inf).scores


def nearest_neighbours(train: np.ndarray, k: int = KNN) -> Callable[[np.ndarray], np.ndarray]:
    """One minus the cosine similarity to the k-th nearest training cell (Sun et al.,
    ICML 2022), as `vision.unfamiliar` scores it with a nearest-neighbour reference."""
    reference = fit_nearest(train)
    return lambda x: nearest_scores(x, reference, k)


def auroc(negative: np.ndarray, positive: np.ndarray) -> float:
    """Probability that an unseen cell scores above a seen one (ties half: tied scores
    share their average rank)."""
    both = np.concatenate([negative, positive])
    _, inverse, counts = np.unique(both, return_inverse=True, return_counts=True)
    top = np.cumsum(counts)  # the highest rank of each distinct score
    ranks = (top - (counts - 1) / 2.0)[inverse]
    n, m = len(negative), len(positive)
    return float((ranks[n:].sum() - m * (m + 1) / 2) / (n * m))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--model", type=Path, required=True, help="classifier trained without the class"
    )
    ap.add_argument("--unseen", required=True, help="the class it never saw (a PBC folder)")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "pbc")
    ap.add_argument("--seed", type=int, default=20261122, help="the run's split seed")
    ap.add_argument("--every", type=int, default=1, help="every n-th image only (quicker)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--neighbours", action="store_true", help="also the flags with a laboratory neighbourhood"
    )
    ap.add_argument(
        "--cases",
        action="store_true",
        help="also how often cases with some never-seen cells are pointed out as unusual",
    )
    args = ap.parse_args()
    clf = Classifier(args.model, threads=args.threads)
    unseen = CLASSES.index(args.unseen)
    samples, _ = list_samples(args.data, CLASSES)
    train_s, val_s = stratified_split(samples, 0.15, args.seed)
    train_s = [s for s in train_s if s.label != unseen][:: args.every]
    val_s = [s for s in val_s if s.label != unseen][:: args.every]
    odd_s = [s for s in samples if s.label == unseen][:: args.every]
    if not odd_s:
        print(f"no images of '{args.unseen}' under {args.data}", file=sys.stderr)
        return 1
    seen = sorted({s.label for s in train_s})
    print(f"classifier {args.model} ({clf.version}); unseen class '{args.unseen}'")
    print(f"fitting the seen classes' statistics on {len(train_s)} training cells ...", flush=True)
    _, train = descriptors(clf, nominal_crops([s.path for s in train_s]))
    labels = np.array([s.label for s in train_s])
    val_crops = nominal_crops([s.path for s in val_s])
    odd_crops = nominal_crops([s.path for s in odd_s])
    (val_logits, val), (odd_logits, odd) = descriptors(clf, val_crops), descriptors(clf, odd_crops)
    right = float((val_logits.argmax(1) == np.array([s.label for s in val_s])).mean())
    print(f"seen classes' validation cells: {len(val_s)}, {right:.1%} right")
    other = {
        "val": low_or_blurred(clf, val_logits, val_crops),
        "odd": low_or_blurred(clf, odd_logits, odd_crops),
    }
    odd_called = np.array([CLASSES[i] for i in odd_logits.argmax(1)])
    d = clf.embedding_size or train.shape[1]
    maha = mahalanobis(train[:, :d], labels, seen)
    scorers = {
        "Mahalanobis, embedding": (maha, d),
        f"{KNN} nearest neighbours, embedding (shipped)": (nearest_neighbours(train[:, :d]), d),
    }
    if train.shape[1] > d:
        scorers["Mahalanobis, descriptor"] = (mahalanobis(train, labels, seen), train.shape[1])
        scorers[f"{KNN} nearest neighbours, descriptor"] = (
            nearest_neighbours(train),
            train.shape[1],
        )
    # The shipped score's guard (`fit_guard`): a Mahalanobis score past it is unfamiliar
    # at every sensitivity.
    val_maha, odd_maha = maha(val[:, :d]), maha(odd[:, :d])
    guard = fit_guard(val_maha)
    guarded = {"val": val_maha > guard, "odd": odd_maha > guard}
    levels = {q: name for name, q in SENSITIVITIES.items()}
    print(f"{'flagged for review':<64}{'seen (val)':>12}{args.unseen + ' (never seen)':>24}")
    name = "low confidence or out of focus"
    print(f"{name:<64}{other['val'].mean():>12.1%}{other['odd'].mean():>24.1%}")
    for label, (score, width) in scorers.items():
        val_scores, odd_scores = score(val[:, :width]), score(odd[:, :width])
        shipped = label.endswith("(shipped)")
        print(f"{label}: AUROC {auroc(val_scores, odd_scores):.3f}")
        for q in QUANTILES:
            t = float(np.quantile(val_scores, q))
            ok, bad = other["val"] | (val_scores > t), other["odd"] | (odd_scores > t)
            if shipped:
                ok, bad = ok | guarded["val"], bad | guarded["odd"]
            level = f" ({levels[q]})" if shipped and q in levels else ""
            name = f"  or unfamiliar above the seen cells' {q:.0%} quantile{level}"
            print(f"{name:<64}{ok.mean():>12.1%}{bad.mean():>24.1%}")
        if shipped:
            t = float(np.quantile(val_scores, QUANTILES[0]))
            unflagged = ~(other["odd"] | (odd_scores > t) | guarded["odd"])
            said = dict(Counter(odd_called[unflagged].tolist()).most_common())
            print(f"  {args.unseen} cells left unflagged at 99 %, called: {said}")
            unfamiliar = {
                "val": (val_scores > t) | guarded["val"],
                "odd": (odd_scores > t) | guarded["odd"],
            }
    blur = {
        "val": blur_width(val_crops) > OUT_OF_FOCUS_WIDTH,
        "odd": blur_width(odd_crops) > OUT_OF_FOCUS_WIDTH,
    }
    odd_flags = {k: unfamiliar[k] | blur[k] for k in unfamiliar}
    if args.cases:
        unusual_cases(odd_flags["val"], odd_flags["odd"], args.unseen, args.seed)
    if args.neighbours:
        with_neighbours(
            clf, (val_logits, val), (odd_logits, odd), odd_flags, args.unseen, args.seed
        )
    return 0


CASE_SIZES = (50, 100)
UNSEEN_SHARES = (0.0, 0.05, 0.1, 0.2, 0.5)
CASES = 2000


def unusual_cases(seen: np.ndarray, unseen: np.ndarray, name: str, seed: int) -> None:
    """How often the station points a case out as unusual (`core.unusual`): the seen
    validation cells halved at random, one half's unfamiliar share the microscope's usual
    one (as a calibration measures it), cases drawn from the other half with a share of
    the never-seen cells, each case's unfamiliar cells (or out of focus) counted."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(seen))
    bank, scored = np.array_split(order, 2)
    usual = float(seen[bank].mean())
    print(
        f"cases pointed out as unusual (usual share {usual:.1%}, from {len(bank)} seen cells; "
        f"{CASES} cases each)"
    )
    header = "".join(f"{f'{b:.0%} {name}':>15}" for b in UNSEEN_SHARES)
    print(f"{'white cells in the case':<28}{header}")
    for n in CASE_SIZES:
        row = []
        for b in UNSEEN_SHARES:
            k = round(b * n)
            hits = 0
            for _ in range(CASES):
                a = rng.choice(scored, n - k, replace=False)
                o = rng.choice(len(unseen), k, replace=False) if k else np.zeros(0, int)
                x = int(seen[a].sum() + unseen[o].sum())
                hits += unusual(x, n, usual)
            row.append(hits / CASES)
        print(f"{n:<28}" + "".join(f"{r:>15.1%}" for r in row))


def with_neighbours(
    clf: Classifier,
    seen: tuple[np.ndarray, np.ndarray],
    unseen: tuple[np.ndarray, np.ndarray],
    flagged: dict[str, np.ndarray],
    name: str,
    seed: int,
) -> None:
    """Flagged fractions with and without a neighbourhood (module docstring): ``flagged``
    holds, per set, the flags the neighbourhood leaves alone (unfamiliar at standard, out
    of focus); the low-confidence flag is read from the blended probabilities."""
    (v_logits, v_desc), (o_logits, o_desc) = seen, unseen
    v_p, o_p = softmax(v_logits, clf.temperature), softmax(o_logits, clf.temperature)
    rng = np.random.default_rng(seed)
    v_order, o_order = rng.permutation(len(v_p)), rng.permutation(len(o_p))
    v_bank, v_test = np.array_split(v_order, 2)
    o_bank, o_test = np.array_split(o_order, 2)
    print(f"with the laboratory's own cells as neighbours ({len(v_bank)} seen cells in the bank)")
    print(f"{'flagged for review (standard sensitivity)':<64}{'seen':>12}{name:>24}")

    def applied(
        nb: Neighbourhood, p: np.ndarray, x: np.ndarray, odd: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """As `Classifier.classify_crops` applies a neighbourhood."""
        return nb.apply(p, x, (p.max(axis=1) >= clf.review_threshold) & ~odd)

    def flags(p: np.ndarray, kept: np.ndarray) -> float:
        return float(((p.max(axis=1) < clf.review_threshold) | kept).mean())

    v_kept, o_kept = flagged["val"][v_test], flagged["odd"]
    print(
        f"{'  no neighbourhood':<64}{flags(v_p[v_test], v_kept):>12.1%}{flags(o_p, o_kept):>24.1%}"
    )
    for label, bank, scored in (
        ("  bank of seen cells only", v_bank, np.arange(len(o_p))),
        (f"  bank with half the {name} cells too (the other half scored)", None, o_test),
    ):
        if bank is None:
            x = np.concatenate([v_desc[v_bank], o_desc[o_bank]])
            p = np.concatenate([v_p[v_bank], o_p[o_bank]])
        else:
            x, p = v_desc[bank], v_p[bank]
        nb = Neighbourhood.fit(x, p)
        v_q, v_rare = applied(nb, v_p[v_test], v_desc[v_test], v_kept)
        o_q, o_rare = applied(nb, o_p[scored], o_desc[scored], flagged["odd"][scored])
        seen_f = flags(v_q, v_kept | v_rare)
        odd_f = flags(o_q, flagged["odd"][scored] | o_rare)
        print(f"{label:<64}{seen_f:>12.1%}{odd_f:>24.1%}")


if __name__ == "__main__":
    sys.exit(main())
