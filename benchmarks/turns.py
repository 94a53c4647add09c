"""How a classifier's accuracy on other laboratories' cells depends on the views it is
asked in: one, two or four quarter turns averaged (each with its mirror image inside the
graph), for one or more classifier files.

    python benchmarks/turns.py [--model FILE ...] [--turns 1 2 4] [--data ../shared/data]

The cells are taken as `bench_adapt.py` takes them (jiangxi framed as ``classify`` frames
it, bionet's fields through the shipped pipeline; a field where no white cell is found is
left out), and scored by the class of the highest logit, without flags or calibration.
Used for the distillation rows of the ablation in docs/cross-lab-record.md (a student
meant to classify with one turn, against its teacher with one and two).
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

from hemoscope.vision.classifier import Classifier  # noqa: E402
from hemoscope.vision.lab_adapt import Score  # noqa: E402
from hemoscope.vision.pipeline import Pipeline  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, nargs="+", default=[ROOT / "models/classifier.onnx"])
    ap.add_argument("--turns", type=int, nargs="+", default=[1, 2, 4], choices=(1, 2, 3, 4))
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    pipeline = Pipeline.load(threads=args.threads)
    print(f"{'laboratory':<10} {'cells':>5}  {'turns':>5}  {'accuracy':>8}  {'balanced':>8}  model")
    for name, kind, root in other_labs(args.data):
        cells = lab_cells(pipeline, root, kind)
        crops, y = cells.array(), np.asarray(cells.labels)
        for model in args.model:
            for turns in args.turns:
                clf = Classifier(model, threads=args.threads, turns=turns)
                logits, _ = clf.logits_and_embedding(crops)
                score = Score.of(y, logits.argmax(axis=1), clf.classes)
                acc, bal = score.accuracy, score.balanced_accuracy
                print(
                    f"{name:<10} {len(y):>5}  {turns:>5}  {100 * acc:7.1f}%  {100 * bal:7.1f}%  "
                    f"{model}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
