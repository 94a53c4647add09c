"""Single-cell images cut tighter than PBC's, as other laboratories crop: prints a table.

    python benchmarks/stress_single_cell.py [--data ../shared/data/pbc] [--every 1]
                                            [--max-cell-share 0.6] [--model FILE]
                                            [--json FILE]

PBC shows the white cell at about 0.39 of the image's side. Each validation image of the
classifier's own split is taken as it is (1.0) and cut, around its centre, to a square of
0.7, 0.55 and 0.45 of its shorter side (the cell then fills about 0.55, 0.7 and 0.85 of
it), clean and blurrier + bluer + JPEG 50, and classified as ``hemoscope classify``
does: the detector finds the white cell nearest the centre and the crop rule frames it.
The table gives the accuracy over all classes and over the white cells (platelets left
out), and the share of images where a white cell was found. ``--max-cell-share 1``
frames as the rule did before (the crop capped at the image), for comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hemoscope.vision import single_cell  # noqa: E402
from hemoscope.vision.classifier import Classifier  # noqa: E402
from hemoscope.vision.datasets import list_samples, load_rgb, stratified_split  # noqa: E402
from hemoscope.vision.detector import Detector  # noqa: E402
from hemoscope.vision.perturb import PERTURBATIONS  # noqa: E402

FRACTIONS = (1.0, 0.7, 0.55, 0.45)
CONDITIONS = ("none", "blurrier + bluer + JPEG 50")


def centre_square(img: np.ndarray, fraction: float) -> np.ndarray:
    """The centred square of ``fraction`` x the image's shorter side (1: the image as is)."""
    if fraction >= 1:
        return img
    h, w = img.shape[:2]
    side = max(1, round(min(h, w) * fraction))
    y, x = (h - side) // 2, (w - side) // 2
    return img[y : y + side, x : x + side]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "pbc")
    parser.add_argument("--every", type=int, default=1, help="use every n-th image")
    parser.add_argument("--max-cell-share", type=float, default=single_cell.MAX_CELL_SHARE)
    parser.add_argument("--model", type=Path, default=None, help="classifier ONNX file")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    single_cell.MAX_CELL_SHARE = args.max_cell_share
    clf = Classifier(args.model, threads=args.threads)
    det = Detector(threads=args.threads)
    samples, _ = list_samples(args.data, clf.classes)
    training = clf.card["training"]
    _, val = stratified_split(samples, 0.15, int(training.get("split_seed", training["seed"])))
    val = val[:: max(1, args.every)]
    if not val:
        print(f"no images under {args.data}", file=sys.stderr)
        return 1
    truth = np.array([s.label for s in val])
    white = truth != clf.classes.index("platelet") if "platelet" in clf.classes else truth >= 0
    originals = [load_rgb(s.path) for s in val]
    print(
        f"{len(val)} PBC validation images, white cell at most {args.max_cell_share:g} of the crop"
    )
    print(f"{'cut to':>7}  {'condition':28s}{'accuracy':>9}{'white cells':>12}{'found':>8}")
    rows = []
    for fraction in FRACTIONS:
        for condition in CONDITIONS:
            perturb = PERTURBATIONS[condition]
            framed = [
                single_cell.frame_single_cell(
                    perturb(centre_square(img, fraction)),
                    clf.input_size,
                    clf.crop_scale,
                    det,
                    channels="rgb",
                )
                for img in originals
            ]
            labels = clf.classify_crops(np.stack([crop for crop, _ in framed])).labels
            pred = np.array([clf.classes.index(label) for label in labels])
            row = {
                "cut_to": fraction,
                "condition": condition,
                "accuracy": round(float(np.mean(pred == truth)), 4),
                "white_cell_accuracy": round(float(np.mean(pred[white] == truth[white])), 4),
                "white_cell_found": round(
                    float(np.mean([how == "detected" for _, how in framed])), 4
                ),
            }
            rows.append(row)
            print(
                f"{fraction:>7.2f}  {condition:28s}{row['accuracy']:>9.1%}"
                f"{row['white_cell_accuracy']:>12.1%}{row['white_cell_found']:>8.1%}",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
