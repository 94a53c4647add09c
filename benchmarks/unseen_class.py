"""How the review flags treat a class the classifier was never trained on: a stand-in for
the blasts, smudge cells and variant lymphocytes of leukaemia samples, which no class of
the shipped classifier covers and of which there are no labelled images here.

    python benchmarks/unseen_class.py --model RUN/classifier.onnx --unseen ig \
                                      [--data ../shared/data/pbc] [--every 1]

RUN is a classifier trained on PBC without the ``--unseen`` class (its folder left out
of the training tree, e.g. ``train classifier --data PBC-WITHOUT-IG --split-seed
20261122``, so the other classes keep the shipped model's split). Its unfamiliar-cell
statistics are fitted as the export fits them (`vision.unfamiliar.fit`) on its training
split's cells, but of the classes it saw only (a class without cells gets no mean), with
the threshold at the 99 % quantile of its validation cells. Then every image of the unseen
class, none of which it saw, and its validation cells of the seen classes are classified
as training frames them (two turns, as at run time) and the review flags counted: low
confidence (below the card's review threshold), unfamiliar, out of focus. Also printed:
what the unseen cells were called, and the flagged fractions at stricter unfamiliar
thresholds (lower quantiles of the seen validation cells), the trade-off a laboratory
would make.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hemoscope.training.pbc_data import list_samples, load_rgb, stratified_split  # noqa: E402
from hemoscope.training.train_classifier import CLASSES, nominal_geometry  # noqa: E402
from hemoscope.vision.classifier import Classifier  # noqa: E402
from hemoscope.vision.crops import cut_crop  # noqa: E402
from hemoscope.vision.focus import OUT_OF_FOCUS_WIDTH  # noqa: E402
from hemoscope.vision.unfamiliar import UnfamiliarModel, fit  # noqa: E402

QUANTILES = (0.99, 0.95, 0.90, 0.80)


def crops_of(paths: list[Path], size: int) -> np.ndarray:
    """The images framed as training frames them (no augmentation)."""
    out = np.empty((len(paths), size, size, 3), np.uint8)
    for i, p in enumerate(paths):
        img = load_rgb(p)
        cx, cy, side = nominal_geometry(img)
        out[i] = cut_crop(img, cx, cy, side, size)
    return out


def seen_statistics(
    clf: Classifier, train_crops: np.ndarray, labels: np.ndarray, seen: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Class means of the seen classes only, and the shared whitening."""
    emb = np.concatenate(
        [clf.logits_and_embedding(train_crops[s : s + 256])[1] for s in range(0, len(labels), 256)]
    )
    means, whiten = fit(emb, labels, len(CLASSES))
    return means[seen], whiten


def flagged(clf: Classifier, crops: np.ndarray, model: UnfamiliarModel) -> dict[str, np.ndarray]:
    clf.unfamiliar = model
    res = clf.classify_crops(crops)
    low = res.confidence < clf.review_threshold
    blur = res.blur > OUT_OF_FOCUS_WIDTH
    return {
        "labels": np.array(res.labels),
        "low": low,
        "unfamiliar": res.unfamiliarity > model.threshold,
        "blur": blur,
        "score": res.unfamiliarity,
        "any": np.asarray(res.review, bool),
    }


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
    size = clf.input_size
    print(f"classifier {args.model} ({clf.version}); unseen class '{args.unseen}'")
    print(f"fitting the seen classes' statistics on {len(train_s)} training cells ...", flush=True)
    means, whiten = seen_statistics(
        clf, crops_of([s.path for s in train_s], size), np.array([s.label for s in train_s]), seen
    )
    val_crops = crops_of([s.path for s in val_s], size)
    odd_crops = crops_of([s.path for s in odd_s], size)
    base = UnfamiliarModel(means, whiten, np.inf)
    val_scores = flagged(clf, val_crops, base)["score"]
    threshold = float(np.quantile(val_scores, QUANTILES[0]))
    model = UnfamiliarModel(means, whiten, threshold)
    on_val, on_odd = flagged(clf, val_crops, model), flagged(clf, odd_crops, model)
    y_val = np.array([CLASSES[s.label] for s in val_s])
    right = float((on_val["labels"] == y_val).mean())
    print(f"seen classes' validation cells: {len(val_s)}, {right:.1%} right")
    print(f"{'':<28}{'seen (val)':>12}{args.unseen + ' (never seen)':>24}")
    for key, name in (
        ("low", "low confidence"),
        ("unfamiliar", "unfamiliar (99 % quantile)"),
        ("blur", "out of focus"),
        ("any", "flagged for review"),
    ):
        print(f"{name:<28}{on_val[key].mean():>12.1%}{on_odd[key].mean():>24.1%}")
    called = Counter(on_odd["labels"][~on_odd["any"]].tolist())
    print(f"{args.unseen} cells not flagged, called: {dict(called.most_common())}")
    print("stricter unfamiliar thresholds (quantile of the seen validation cells):")
    for q in QUANTILES:
        t = float(np.quantile(val_scores, q))
        odd = on_odd["low"] | on_odd["blur"] | (on_odd["score"] > t)
        ok = on_val["low"] | on_val["blur"] | (val_scores > t)
        print(f"  {q:.0%}: seen flagged {ok.mean():.1%}, {args.unseen} flagged {odd.mean():.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
