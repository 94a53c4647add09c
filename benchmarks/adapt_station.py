"""The learning curve's profiles classified as the station classifies with them: the
quarter turn for unsure cells only (the card's ``more_turns_below``) against every cell
turned, as `bench_adapt.py` scores them.

    python benchmarks/adapt_station.py [--data ../shared/data] [--k 25 100] [--draws 5]

For each laboratory under ``other-labs`` (cells as `bench_adapt.py` takes them) and each
k, the same stratified draws (`bench_adapt.draw`): a head refit fitted on the k cells'
views as `bench_adapt_fit.py`'s kept variant fits it, then the rest of the laboratory
classified by ``Classifier.classify_crops`` with that profile, both ways. Printed per
row, means over the draws: accuracy, flagged fraction and accuracy of the unflagged
cells, and the accuracy `bench_adapt_fit.py` computes from every cell turned (which the
``every`` row must equal).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import lab_cells, other_labs_found  # noqa: E402
from bench_adapt import draw  # noqa: E402
from bench_adapt_fit import lab_views  # noqa: E402

from hemoscope.vision.lab_adapt import FITS  # noqa: E402
from hemoscope.vision.pipeline import Pipeline  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--k", type=int, nargs="+", default=[25, 100])
    ap.add_argument("--draws", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    labs = other_labs_found(args.data)
    if not labs:
        return 1
    pipeline = Pipeline.load(threads=args.threads)
    clf = pipeline.classifier
    card = clf.card  # type: ignore[attr-defined]
    rule = clf.more_turns_below  # type: ignore[attr-defined]
    print(f"classifier {card['version']}; more_turns_below {rule}; {args.draws} draws")
    print(f"{'lab':<9}{'k':>5}  {'turned':<8}{'accuracy':>9}{'flagged':>9}{'unflagged':>11}")
    for name, kind, root in labs:
        cells = lab_cells(pipeline, root, kind)
        crops = cells.array()
        lab = lab_views(pipeline, root, kind, cells)
        y = lab.y
        for k in args.k:
            rows: dict[str, list[tuple[float, float, float]]] = {"every": [], "unsure": []}
            fitted = []
            for seed in range(args.draws):
                idx = draw(y, k, seed)
                rest = np.setdiff1d(np.arange(len(y)), idx)
                profile = lab.fit(idx, y[idx], FITS, card, seed)
                fitted.append(float((lab.probabilities(profile, rest).argmax(1) == y[rest]).mean()))
                clf.set_profile(profile)
                for how, value in (("every", None), ("unsure", rule)):
                    clf.more_turns_below = value  # type: ignore[attr-defined]
                    res = clf.classify_crops(crops[rest])
                    right = np.array([clf.classes.index(c) for c in res.labels]) == y[rest]
                    kept = ~res.review
                    rows[how].append(
                        (float(right.mean()), float(res.review.mean()), float(right[kept].mean()))
                    )
                clf.set_profile(None)
            clf.more_turns_below = rule  # type: ignore[attr-defined]
            for how, r in rows.items():
                acc, flagged, unflagged = np.mean(np.array(r), axis=0)
                print(
                    f"{name:<9}{k:>5}  {how:<8}{100 * acc:>8.1f}%{100 * flagged:>8.1f}%"
                    f"{100 * unflagged:>10.1f}%"
                    + (f"   (fitted: {100 * np.mean(fitted):.1f}%)" if how == "every" else ""),
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
