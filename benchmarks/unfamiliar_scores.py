"""The two unfamiliar-cell scores on the shipped classifier: the Mahalanobis distance of
the embedding to the nearest class mean (shipped until card 2026.12.05.4) against the
distance to the nearest training cells (shipped since, with a Mahalanobis guard that
this benchmark leaves out): what each flags on PBC's validation split and on other
laboratories.

    python benchmarks/unfamiliar_scores.py [--data ../shared/data] [--k 10]

The training split's cells (framed as training frames them) give the nearest-neighbour
reference (normalised embeddings; the score is one minus the cosine similarity to the
k-th nearest, Sun et al., ICML 2022); each score's threshold is set at the same quantile
of PBC's validation cells (99 %, the shipped setting, and 90 %). Then, per set, the
fraction flagged (low confidence or unfamiliar; focus left out, the same for both) and
the accuracy of the cells left unflagged. Other laboratories' cells are taken as
`bench_adapt.py` takes them (jiangxi framed as ``classify`` frames it, bionet's fields
through the pipeline). `unseen_class.py` measures the same two scores on a class the
classifier never saw.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import lab_cells, other_labs  # noqa: E402
from unseen_class import nearest_neighbours  # noqa: E402

from hemoscope.training.colour_reference import nominal_crops  # noqa: E402
from hemoscope.training.pbc_data import list_samples, stratified_split  # noqa: E402
from hemoscope.training.train_classifier import CLASSES  # noqa: E402
from hemoscope.vision.classification_metrics import softmax  # noqa: E402
from hemoscope.vision.pipeline import Pipeline  # noqa: E402

QUANTILES = (0.99, 0.90)


def outputs(clf: object, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logits and embeddings, two turns as at run time."""
    parts = [clf.logits_and_embedding(crops[s : s + 256]) for s in range(0, len(crops), 256)]  # type: ignore[attr-defined]
    if not parts:
        return np.zeros((0, len(CLASSES))), np.zeros((0, 0))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    pipeline = Pipeline.load(threads=args.threads)
    clf = pipeline.classifier
    card = clf.card  # type: ignore[attr-defined]
    if clf.unfamiliar is None:  # type: ignore[attr-defined]
        print("the classifier has no unfamiliar-cell statistics", file=sys.stderr)
        return 1
    samples, _ = list_samples(args.data / "pbc", CLASSES)
    seed = int(card["training"].get("split_seed", card["training"]["seed"]))
    train_s, val_s = stratified_split(samples, 0.15, seed)
    print(
        f"classifier {card['version']} sha256 {card['sha256'][:12]}; {len(train_s)} training cells"
    )
    _, train = outputs(clf, nominal_crops([s.path for s in train_s]))
    sets = {"pbc-val": (*outputs(clf, nominal_crops([s.path for s in val_s])),
                        np.array([s.label for s in val_s]))}  # fmt: skip
    for name, kind, root in other_labs(args.data):
        cells = lab_cells(pipeline, root, kind)
        sets[name] = (*outputs(clf, cells.array()), np.asarray(cells.labels))
    scores = {
        "Mahalanobis": clf.unfamiliar.mahalanobis,  # type: ignore[attr-defined]
        f"{args.k} nearest neighbours": nearest_neighbours(train, args.k),
    }
    t_low = float(clf.review_threshold)  # type: ignore[attr-defined]
    temperature = float(clf.temperature)  # type: ignore[attr-defined]
    print(f"{'score':<24}{'quantile':>9}  " + "  ".join(f"{n:>24}" for n in sets))
    for label, score in scores.items():
        on_val = score(sets["pbc-val"][1])
        for q in QUANTILES:
            t = float(np.quantile(on_val, q))
            cols = []
            for logits, emb, y in sets.values():
                p = softmax(logits, temperature)
                flagged = (p.max(1) < t_low) | (score(emb) > t)
                right = p.argmax(1) == y
                kept = float(right[~flagged].mean()) if (~flagged).any() else float("nan")
                cols.append(f"{flagged.mean():>8.1%} flagged, {kept:.1%}")
            print(f"{label:<24}{q:>9.0%}  " + "  ".join(f"{c:>24}" for c in cols))
    print("(each cell: fraction flagged, accuracy of the cells left unflagged)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
