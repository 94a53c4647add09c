"""How the constants of a laboratory's neighbourhood (`vision.lab_neighbours`) were chosen:
each combination on both other laboratories, no cell voting for itself.

    python benchmarks/neighbours_constants.py [--data ../shared/data] [--halvings 10]

Each laboratory under ``other-labs`` (jiangxi's crops framed as ``classify`` frames them,
bionet's fields through the pipeline, as `bench_adapt.py` takes them) is classified once
by the shipped classifier (its descriptors and probabilities, two turns, no colour
calibration). Then, for each of ``--halvings`` random halvings and both ways round, a
neighbourhood with the given constants is fitted on one half (labels unused) and the
other half scored with `Neighbourhood.blend`. Printed: mean accuracy (± standard
deviation over the halvings and folds) and balanced accuracy per laboratory and
combination, the shipped classifier's first. The rule was the constants best, or within
a point of the best, on both laboratories; the labels of these validation sets choose
among a few dozen combinations, which is why the shipped figures are the two-fold ones
of the whole pipeline (`cross_lab.py --neighbours`), not these.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import halves_both_ways, lab_cells, other_labs  # noqa: E402

from hemoscope.vision.classification_metrics import softmax  # noqa: E402
from hemoscope.vision.lab_adapt import Score  # noqa: E402
from hemoscope.vision.lab_neighbours import Neighbourhood  # noqa: E402
from hemoscope.vision.pipeline import Pipeline  # noqa: E402


def scores(
    x: np.ndarray,
    p: np.ndarray,
    y: np.ndarray,
    classes: tuple[str, ...],
    halvings: int,
    constants: tuple | None,
) -> np.ndarray:
    """(accuracy, balanced accuracy) per halving and fold; ``constants`` (neighbours,
    spread, weight), None for the classifier alone."""
    out = []
    for seed in range(halvings):
        for bank, scored in halves_both_ways(len(y), seed):
            q = p[scored]
            if constants is not None:
                k, spread, weight = constants
                nb = Neighbourhood.fit(x[bank], p[bank], neighbours=k, spread=spread, weight=weight)
                q = nb.blend(q, x[scored])
            score = Score.of(y[scored], q.argmax(axis=1), classes)
            out.append((score.accuracy, score.balanced_accuracy))
    return np.array(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--halvings", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    pipeline = Pipeline.load(threads=args.threads)
    clf = pipeline.classifier
    grid = [None, *itertools.product((10, 20, 40), (0.9, 0.95, 0.99), (0.5, 0.8, 0.95))]
    print(f"classifier {clf.version}; {args.halvings} halvings, two folds each")
    print(f"{'lab':<9}{'neighbours':>11}{'spread':>8}{'weight':>8}{'accuracy':>18}{'balanced':>10}")
    for name, kind, root in other_labs(args.data):
        cells = lab_cells(pipeline, root, kind)
        logits, x = clf.logits_and_descriptor(cells.array())
        p = softmax(logits, clf.temperature)
        y = np.asarray(cells.labels)
        for constants in grid:
            s = scores(x.astype(np.float64), p, y, tuple(clf.classes), args.halvings, constants)
            k, spread, weight = constants if constants else ("shipped", "", "")
            print(
                f"{name:<9}{k!s:>11}{spread!s:>8}{weight!s:>8}"
                f"{100 * s[:, 0].mean():>11.1f} ± {100 * s[:, 0].std():3.1f}"
                f"{100 * s[:, 1].mean():>10.1f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
