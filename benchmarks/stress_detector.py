"""The detector under other laboratories' conditions: prints a stress table.

    python benchmarks/stress_detector.py [--data ../shared/data/txl-pbc] [--split val]
                                         [--model models/detector.onnx] [--json FILE]

Each validation field is perturbed by every condition of `hemoscope.vision.perturb`
(stain, white balance, exposure, focus, noise, JPEG, resolution; deterministic) and run
through the detector as the application runs it; the table gives mAP50, AP50 per class
and the share of fields with the exact white-cell count at the card's thresholds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hemoscope.vision.datasets import iter_yolo  # noqa: E402
from hemoscope.vision.detection_metrics import AP_SCORE_FLOOR, ImageResult, evaluate  # noqa: E402
from hemoscope.vision.detector import Detector  # noqa: E402
from hemoscope.vision.perturb import PERTURBATIONS  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "txl-pbc")
    parser.add_argument("--split", default="val")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    det = Detector(args.model, threshold=AP_SCORE_FLOOR, threads=args.threads)
    names = list(det.names)
    thresholds = det.card["thresholds"]
    counting = thresholds.get("score_per_class", {})
    per_class = [float(counting.get(n, thresholds["score"])) for n in names]
    fields = [
        (img, boxes, classes)
        for _, img, boxes, classes in iter_yolo(args.data, args.split, len(names))
    ]
    if not fields:
        print(f"no {args.split} images under {args.data}", file=sys.stderr)
        return 1
    rows = []
    print(f"detector {det.card.get('version', '?')} on {len(fields)} {args.split} fields")
    print(
        f"{'condition':<34}{'mAP50':>7}" + "".join(f"{n:>10}" for n in names) + f"{'exact WBC':>11}"
    )
    for name, perturb in PERTURBATIONS.items():
        results = []
        for img, boxes, classes in fields:
            d = det.detect(perturb(img), channels="rgb")
            results.append(ImageResult(boxes, classes, d.boxes, d.classes, d.scores))
        rep = evaluate(results, names, per_class)
        exact = rep.exact_count_fraction[names[0]]
        print(
            f"{name:<34}{rep.map50:>7.3f}"
            + "".join(f"{rep.ap50[n]:>10.3f}" for n in names)
            + f"{100 * exact:>10.1f}%"
        )
        rows.append(
            {
                "condition": name,
                "map50": round(rep.map50, 4),
                "ap50": {n: round(rep.ap50[n], 4) for n in names},
                "exact_wbc_count": round(exact, 4),
            }
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
