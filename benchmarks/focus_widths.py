"""Blur widths of real cells, and what blur costs the classifier (`vision.focus`).

    python benchmarks/focus_widths.py [--data ../shared/data] [--pbc-every 4]

Prints, for each laboratory's white cells framed as the station frames them (PBC
validation; ``other-labs/jiangxi`` single-cell images; ``other-labs/bionet`` fields
through the pipeline, the white cell nearest the centre), the median, 90th, 99th
percentile and largest blur width and the fraction above ``OUT_OF_FOCUS_WIDTH``. Then
PBC validation cells blurred on purpose (Gaussian sigma in crop pixels): their median
width, the classifier's accuracy, the fraction the focus check flags and the accuracy
of the cells it leaves. The threshold should sit above every real laboratory's cells
and below the blur at which the classifier stops being right.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import lab_cells, other_labs  # noqa: E402

from hemoscope.vision.classifier import Classifier  # noqa: E402
from hemoscope.vision.datasets import list_samples, load_rgb, stratified_split  # noqa: E402
from hemoscope.vision.detector import Detector  # noqa: E402
from hemoscope.vision.focus import OUT_OF_FOCUS_WIDTH, blur_width  # noqa: E402
from hemoscope.vision.pipeline import Pipeline  # noqa: E402
from hemoscope.vision.single_cell import frame_single_cell  # noqa: E402

PBC_SEED = 20261122
SIGMAS = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0)


def pbc_val(
    data: Path, clf: Classifier, pipeline: Pipeline, every: int
) -> tuple[np.ndarray, np.ndarray]:
    samples, _ = list_samples(data / "pbc", clf.classes)
    _, val = stratified_split(samples, 0.15, PBC_SEED)
    val = val[::every]
    crops = [
        frame_single_cell(
            load_rgb(s.path), clf.input_size, clf.crop_scale, pipeline.detector, "rgb"
        )[0]
        for s in val
    ]
    return np.stack(crops), np.array([s.label for s in val])


def row(name: str, widths: np.ndarray) -> str:
    p50, p90, p99 = np.percentile(widths, [50, 90, 99])
    over = float(np.mean(widths > OUT_OF_FOCUS_WIDTH))
    return (
        f"{name:10s} {len(widths):5d} {p50:6.2f} {p90:6.2f} {p99:6.2f} "
        f"{widths.max():6.2f} {100 * over:6.1f} %"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--pbc-every", type=int, default=4)
    args = ap.parse_args()
    clf = Classifier()
    pipeline = Pipeline(Detector(), clf)
    sets: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if (args.data / "pbc").is_dir():
        sets["pbc-val"] = pbc_val(args.data, clf, pipeline, args.pbc_every)
    for name, kind, folder in other_labs(args.data):
        cells = lab_cells(pipeline, folder, kind)
        sets[name] = (cells.array(), np.array(cells.labels))
    if not sets:
        raise SystemExit(f"no data under {args.data}")
    print(f"threshold OUT_OF_FOCUS_WIDTH = {OUT_OF_FOCUS_WIDTH}")
    print(
        f"{'set':10s} {'cells':>5s} {'median':>6s} {'p90':>6s} {'p99':>6s} {'max':>6s} {'over':>8s}"
    )
    for name, (crops, _) in sets.items():
        print(row(name, blur_width(crops)))
    if "pbc-val" not in sets:
        return
    crops, labels = sets["pbc-val"]
    print("\nPBC validation blurred on purpose (sigma in crop pixels)")
    print(f"{'sigma':>5s} {'median':>6s} {'accuracy':>8s} {'flagged':>8s} {'left right':>10s}")
    for sigma in SIGMAS:
        blurred = np.stack([cv2.GaussianBlur(c, (0, 0), sigma) for c in crops]) if sigma else crops
        res = clf.classify_crops(blurred)
        widths = res.blur  # the classifier's own focus check
        right = np.array([clf.classes.index(lab) for lab in res.labels]) == labels
        flagged = widths > OUT_OF_FOCUS_WIDTH
        left = f"{100 * right[~flagged].mean():9.1f}%" if (~flagged).any() else f"{'-':>10s}"
        print(
            f"{sigma:5.1f} {np.median(widths):6.2f} {100 * right.mean():7.1f}% "
            f"{100 * flagged.mean():7.1f}% {left}"
        )


if __name__ == "__main__":
    main()
