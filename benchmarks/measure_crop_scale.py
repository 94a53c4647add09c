"""Measure the crop rule's red-cell factor on PBC images: prints figures.

    python benchmarks/measure_crop_scale.py [--data ../shared/data/pbc] [--images 300]

Training crops every PBC image at ``2 x PBC_CELL_FRACTION`` of its shorter side (all
PBC images share one magnification). This script runs the shipped detector on a fixed
sample of PBC images, takes the median diameter of the whole red cells in each, and
prints that crop side over the diameter: ``crops.RBC_CROP_FACTOR`` is its median. It
also prints, for comparison, how far the box rule (``CROP_SCALE`` x the detected white
cell's box) strays from the training crop.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hemoscope.vision.crops import (  # noqa: E402
    CROP_SCALE,
    PBC_CELL_FRACTION,
    RBC_CROP_FACTOR,
    rbc_diameter,
)
from hemoscope.vision.datasets import load_rgb  # noqa: E402
from hemoscope.vision.detector import Detector  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "pbc")
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths = sorted(args.data.glob("*/*.jpg"))
    if not paths:
        print(f"no PBC images under {args.data}", file=sys.stderr)
        return 1
    random.Random(args.seed).shuffle(paths)
    det = Detector()
    rbc_ratio, box_ratio = [], []
    for path in paths[: args.images]:
        img = load_rgb(path)
        h, w = img.shape[:2]
        side = 2 * PBC_CELL_FRACTION * min(h, w)
        d = det.detect(img, channels="rgb")
        diameter = rbc_diameter(d.boxes[d.classes == det.names.index("rbc")], w, h)
        if diameter is not None:
            rbc_ratio.append(side / diameter)
        wbc = d.boxes[d.classes == det.names.index("wbc")]
        if len(wbc):
            centres = (wbc[:, :2] + wbc[:, 2:]) / 2 - (w / 2, h / 2)
            b = wbc[int(np.argmin((centres**2).sum(axis=1)))]
            box_ratio.append(CROP_SCALE * max(b[2] - b[0], b[3] - b[1]) / side)
    r, b = np.array(rbc_ratio), np.array(box_ratio)
    n = min(args.images, len(paths))
    print(f"PBC images: {n} (seed {args.seed}); red-cell scale measured in {len(r)}")
    print(
        f"training crop side / red-cell diameter: median {np.median(r):.3f} "
        f"(10th-90th percentile {np.percentile(r, 10):.3f}-{np.percentile(r, 90):.3f}, "
        f"CV {r.std() / r.mean():.3f}); RBC_CROP_FACTOR = {RBC_CROP_FACTOR}"
    )
    print(
        f"box-rule crop side / training crop side: median {np.median(b):.3f} "
        f"(10th-90th percentile {np.percentile(b, 10):.3f}-{np.percentile(b, 90):.3f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
