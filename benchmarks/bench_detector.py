"""Detector latency per 640x480 field with 1 and 2 threads, and peak memory.

    python benchmarks/bench_detector.py [--model FILE] [--images DIR] [--repeats 100]

Uses real fields from ../shared/data/txl-pbc/images/val (640x480 ones) when present,
else generated smear-like fields. Each figure is the whole ``Detector.detect`` call:
colour conversion, letterbox, ONNX Runtime, decoding, NMS and mapping back.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mib, summary_ms, time_calls

from hemoscope.vision.detector import Detector

DEFAULT_IMAGES = Path(__file__).resolve().parents[1].parent / "shared/data/txl-pbc/images/val"


def fields(folder: Path, n: int = 16) -> list[np.ndarray]:
    out = []
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            img = cv2.imread(str(p))
            if img is not None and img.shape[:2] == (480, 640):
                out.append(img)
            if len(out) == n:
                break
    if not out:
        rng = np.random.default_rng(0)
        for _ in range(n):
            img = np.full((480, 640, 3), (225, 215, 235), np.uint8)
            for _ in range(40):
                c = (int(rng.integers(0, 640)), int(rng.integers(0, 480)))
                cv2.circle(img, c, int(rng.integers(30, 45)), (170, 150, 215), -1)
            out.append(img)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--images", type=Path, default=DEFAULT_IMAGES)
    ap.add_argument("--repeats", type=int, default=100)
    args = ap.parse_args()
    imgs = fields(args.images)
    source = "real 640x480 fields" if args.images.is_dir() else "generated 640x480 fields"
    print(f"detector latency per field ({len(imgs)} {source}, {args.repeats} calls each)")
    for threads in (1, 2):
        det = Detector(args.model, threads=threads)
        i = iter(range(10**9))
        times = time_calls(
            lambda det=det, i=i: det.detect(imgs[next(i) % len(imgs)]), 10, args.repeats
        )
        med, p95 = summary_ms(times)
        label = f"{threads} thread{'s' if threads > 1 else ' '}"
        print(f"  {label}: median {med:6.1f} ms   p95 {p95:6.1f} ms")
    print(f"peak RSS {peak_rss_mib():.0f} MiB (process, both sessions loaded)")


if __name__ == "__main__":
    main()
