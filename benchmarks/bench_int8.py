"""The shipped 8-bit classifier beside its float source: cost per cell and agreement.

    git show c5aed14:models/classifier.onnx > FLOAT/classifier.onnx   # and .json,
    git show c5aed14:models/classifier.json > FLOAT/classifier.json   # .unfamiliar.npz
    python benchmarks/bench_int8.py --float FLOAT/classifier.onnx [--model FILE]
                                    [--data ../shared/data] [--every 2] [--threads 2]

The shipped classifier is the float one quantised by ``python -m hemoscope.training
quantise`` (its card's ``quantisation``: the source's hash and the command). Printed
for each: the classifier's cost per cell (``classify_crops``, batch 16, the card's
turns, best of 9), the model file's size, and the cross-lab measurement of
`benchmarks/cross_lab.py` (``--every`` n-th cell of each set, each model with its own
card and unfamiliar-cell statistics): per set accuracy, balanced accuracy, unflagged
right, flagged, and the share of cells given the float model's class.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import cross_lab as cross_lab_bench  # noqa: E402  (benchmarks/cross_lab.py)
from _common import time_calls  # noqa: E402

from hemoscope.vision import cross_lab  # noqa: E402
from hemoscope.vision.classifier import Classifier  # noqa: E402
from hemoscope.vision.model_card import models_dir  # noqa: E402


def cost_per_cell(model: Path, threads: int) -> float:
    """ms per cell of ``classify_crops`` at batch 16, best of 9 runs of 256 crops."""
    clf = Classifier(model, threads=threads)
    size = clf.input_size
    crops = np.random.default_rng(0).integers(0, 255, (256, size, size, 3), dtype=np.uint8)
    times = time_calls(lambda: clf.classify_crops(crops), warmup=1, repeats=9)
    return 1000 * min(times) / len(crops)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument(
        "--float",
        dest="float_model",
        type=Path,
        required=True,
        help="the float classifier (with its card and statistics)",
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=models_dir() / "classifier.onnx",
        help="the 8-bit classifier (default: the shipped one)",
    )
    parser.add_argument("--every", type=int, default=2, help="every n-th cell of each set")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if not (args.data / "pbc").is_dir():
        print(f"{args.data / 'pbc'} is not there", file=sys.stderr)
        return 1
    sets = cross_lab_bench.default_sets(args.data)
    variants = {"float": args.float_model, "8-bit": args.model}
    reference: dict[str, np.ndarray] = {}
    for name, model in variants.items():
        ms = cost_per_cell(model, args.threads)
        results = cross_lab_bench.run(sets, model, None, args.threads, args.every)
        print(f"\n{name}: {ms:.2f} ms per cell, {model.stat().st_size / 2**20:.1f} MiB")
        print(cross_lab.format_table(results))
        for res in results:
            pred = np.array([p.predicted for p in res.predictions])
            reference.setdefault(res.name, pred)
            same = float((pred == reference[res.name]).mean()) if len(pred) else 0.0
            print(f"  {res.name}: {same:.1%} of cells given the float model's class")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
