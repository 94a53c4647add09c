"""Classifier cost per cell at batch 1 and 16, with 1 and 2 threads, and peak memory.

    python benchmarks/bench_classifier.py [--model models/classifier.onnx] [--repeats 100]
        [--cells ../shared/data/pbc]

Times ``Classifier.classify_crops`` (input conversion, ONNX Runtime, softmax with the
calibration temperature, unfamiliar score, focus check) on crops already cut by the crop
rule, with the card's ``turns`` and with one turn (the crop and its mirror image only).
The crops are random pixels, or with ``--cells`` real cells: single-cell images of an
ImageFolder tree (every 400th, framed as ``classify`` frames them), on which the focus check
and the unfamiliar score do the work they do at the microscope.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mib, summary_ms, time_calls

from hemoscope.vision.classifier import Classifier


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--repeats", type=int, default=100)
    ap.add_argument("--cells", type=Path, default=None, help="ImageFolder of real cells")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    real = None if args.cells is None else cells_of(args.cells)
    print("classifier cost per cell")
    for threads, turns in ((1, None), (2, None), (2, 1)):
        clf = Classifier(args.model, threads=threads, turns=turns)
        s = clf.input_size
        for batch in (1, 16):
            crops = (
                rng.integers(0, 256, (batch, s, s, 3), dtype=np.uint8)
                if real is None
                else real[:batch]
            )
            times = time_calls(
                lambda clf=clf, crops=crops: clf.classify_crops(crops), 5, args.repeats
            )
            med, p95 = summary_ms(times)
            print(
                f"  {threads} thread{'s' if threads > 1 else ' '}, {clf.turns} turn"
                f"{'s' if clf.turns > 1 else ' '}, batch {batch:2d}: "
                f"{med / batch:6.2f} ms/cell (median batch {med:6.1f} ms, p95 {p95:6.1f} ms)"
            )
    print(f"peak RSS {peak_rss_mib():.0f} MiB")


def cells_of(root: Path) -> np.ndarray:
    """Every 400th single-cell image under ``root`` (at least 16), framed as ``classify``
    frames such an image."""
    from hemoscope.vision.datasets import IMAGE_SUFFIXES, load_rgb

    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    step = max(1, min(400, len(files) // 16))
    clf = Classifier(None, threads=1)
    crops = [clf.crop_whole_image(load_rgb(f), channels="rgb") for f in files[::step]]
    if len(crops) < 16:
        raise SystemExit(f"{root}: {len(crops)} images, 16 are needed")
    return np.stack(crops)


if __name__ == "__main__":
    main()
