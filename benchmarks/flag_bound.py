"""How few cells a review flag *could* flag on another laboratory and leave the rest 95 %
right: a bound, chosen with the laboratory's labels, for what any threshold on the
classifier's confidence can do there.

    python benchmarks/flag_bound.py [--data ../shared/data] [--halvings 5] [--target 0.95]

Each laboratory under ``other-labs`` (jiangxi's crops framed as ``classify`` frames them,
bionet's fields through the pipeline, as `bench_adapt.py` takes them) is classified by
the shipped classifier as the station classifies (its turns, no colour calibration;
`Classifier.seen_and_flagged`: outputs and the unfamiliar-cell flag of the standard
review sensitivity from one pass). For each of ``--halvings``
random halvings, both ways round, one half is scored: alone, and with the other half as
its neighbours (`lab_neighbours.Neighbourhood`, the shipped constants, labels unused).
Printed per laboratory, as means over the halvings and folds:

- accuracy;
- the smallest fraction of the scored cells that must be flagged, least confident first,
  for the cells left to be ``--target`` right (1.0 when no fraction does): the best any
  confidence threshold can do, since the labels choose it;
- the same when the cells the shipped unfamiliar-cell flag marks (which a laboratory
  profile may not weaken) are flagged first, whatever their confidence;
- the share of cells the unfamiliar-cell flag marks.

Not a figure of the station: a bound that says which of its flags stands between a
laboratory and the target of at most 30 % flagged.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import halves_both_ways, lab_cells, other_labs_found  # noqa: E402

from hemoscope.vision.classification_metrics import softmax  # noqa: E402
from hemoscope.vision.lab_neighbours import Neighbourhood  # noqa: E402
from hemoscope.vision.pipeline import Pipeline  # noqa: E402


def least_flagged(
    confidence: np.ndarray,
    right: np.ndarray,
    target: float,
    forced: np.ndarray | None = None,
) -> float:
    """The smallest fraction of cells to flag, the ``forced`` ones first and then the
    least confident, so that the cells left are at least ``target`` right (1.0 when
    none is)."""
    n = len(right)
    if n == 0:
        return 0.0
    forced = np.zeros(n, bool) if forced is None else np.asarray(forced, bool)
    # Cells kept unflagged, most confident first; forced ones never kept.
    order = np.argsort(-np.where(forced, -np.inf, confidence), kind="stable")
    keepable = int((~forced).sum())
    kept_right = np.cumsum(right[order][:keepable])
    ok = np.flatnonzero(kept_right >= target * np.arange(1, keepable + 1))
    return 1.0 if len(ok) == 0 else 1.0 - (int(ok.max()) + 1) / n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--halvings", type=int, default=5)
    ap.add_argument("--target", type=float, default=0.95)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    labs = other_labs_found(args.data)
    if not labs:
        return 1
    pipeline = Pipeline.load(threads=args.threads)
    clf = pipeline.classifier
    print(f"classifier {clf.version}; {args.halvings} halvings, two folds; target {args.target}")
    print(
        f"{'lab':<9}{'scored with':<12}{'accuracy':>9}{'least flagged':>15}"
        f"{'with unfamiliar':>17}{'unfamiliar':>12}"
    )
    for name, kind, root in labs:
        cells = lab_cells(pipeline, root, kind)
        crops = cells.array()
        logits, x, odd = clf.seen_and_flagged(crops, None)  # as the station sees them
        p = softmax(logits, clf.temperature)
        y = np.asarray(cells.labels)
        rows: dict[str, list[tuple[float, float, float]]] = {"alone": [], "neighbours": []}
        for seed in range(args.halvings):
            for bank, scored in halves_both_ways(len(y), seed):
                nb = Neighbourhood.fit(x[bank].astype(np.float64), p[bank])
                for how, q in (
                    ("alone", p[scored]),
                    ("neighbours", nb.blend(p[scored], x[scored])),
                ):
                    right = q.argmax(axis=1) == y[scored]
                    conf = q.max(axis=1)
                    rows[how].append(
                        (
                            float(right.mean()),
                            least_flagged(conf, right, args.target),
                            least_flagged(conf, right, args.target, odd[scored]),
                        )
                    )
        for how, r in rows.items():
            acc, least, with_odd = np.mean(np.array(r), axis=0)
            print(
                f"{name:<9}{how:<12}{100 * acc:>8.1f}%{100 * least:>14.1f}%"
                f"{100 * with_odd:>16.1f}%{100 * odd.mean():>11.1f}%",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
