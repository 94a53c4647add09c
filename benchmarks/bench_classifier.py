"""Classifier cost per cell at batch 1 and 16, with 1 and 2 threads, and peak memory.

    python benchmarks/bench_classifier.py [--model models/classifier.onnx] [--repeats 100]
        [--cells ../shared/data/pbc]

Times ``Classifier.classify_crops`` (input conversion, ONNX Runtime, softmax with the
calibration temperature, unfamiliar score, focus check) on crops already cut by the crop
rule, with the card's ``turns`` and with one turn (the crop and its mirror image only).
The crops are random pixels, or with ``--cells`` real cells: single-cell images of an
ImageFolder tree (256 spread evenly over its sorted files, framed as ``classify`` frames
them; the timed calls cycle through them), on which the focus check and the unfamiliar
score do the work they do at the microscope, and the later turns go to the crops the
first leaves unsure as they do there (the card's ``more_turns_below``, or
``--more-turns-below``: a probability, or ``every``; the share of such crops is printed).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mib, set_more_turns, summary_ms, time_calls

from hemoscope.vision.classifier import Classifier


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--repeats", type=int, default=100)
    ap.add_argument("--cells", type=Path, default=None, help="ImageFolder of real cells")
    ap.add_argument(
        "--more-turns-below",
        default=None,
        help="later turns only below this first-view probability, or 'every' (default: card)",
    )
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    real = None if args.cells is None else cells_of(args.cells)
    print("classifier cost per cell")
    for threads, turns in ((1, None), (2, None), (2, 1)):
        clf = Classifier(args.model, threads=threads, turns=turns)
        set_more_turns(clf, args.more_turns_below)
        if threads == 1:
            print(f"  later turns: {unsure_share(clf, real)}")
        s = clf.input_size
        for batch in (1, 16):
            batches = (
                [rng.integers(0, 256, (batch, s, s, 3), dtype=np.uint8)]
                if real is None
                else [real[i : i + batch] for i in range(0, len(real) - batch + 1, batch)]
            )
            calls = itertools.cycle(batches)
            times = time_calls(
                lambda clf=clf, calls=calls: clf.classify_crops(next(calls)), 5, args.repeats
            )
            med, p95 = summary_ms(times)
            print(
                f"  {threads} thread{'s' if threads > 1 else ' '}, {clf.turns} turn"
                f"{'s' if clf.turns > 1 else ' '}, batch {batch:2d}: "
                f"{med / batch:6.2f} ms/cell (median batch {med:6.1f} ms, p95 {p95:6.1f} ms)"
            )
    print(f"peak RSS {peak_rss_mib():.0f} MiB")


def cells_of(root: Path, count: int = 256) -> np.ndarray:
    """``count`` single-cell images spread evenly over the sorted files under ``root`` (at
    least 16), framed as ``classify`` frames such an image."""
    from hemoscope.vision.datasets import IMAGE_SUFFIXES, load_rgb

    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) < 16:
        raise SystemExit(f"{root}: {len(files)} images, 16 are needed")
    pick = np.unique(np.linspace(0, len(files) - 1, min(count, len(files))).astype(int))
    clf = Classifier(None, threads=1)
    return np.stack([clf.crop_whole_image(load_rgb(files[i]), channels="rgb") for i in pick])


def unsure_share(clf: Classifier, real: np.ndarray | None) -> str:
    """Which crops get the later turns: all, or the share of ``real`` the classifier's
    first view leaves unsure (`Classifier.unsure_at_first`)."""
    if clf.turns == 1 or clf.more_turns_below is None:
        return f"every crop ({clf.turns} turns)"
    if real is None:
        return f"crops below {clf.more_turns_below} at the first view (random pixels)"
    unsure, _ = clf.unsure_at_first(*clf.logits_and_descriptor(real, turns=1))
    return f"{100 * unsure.mean():.0f} % of the cells (first view below {clf.more_turns_below})"


if __name__ == "__main__":
    main()
