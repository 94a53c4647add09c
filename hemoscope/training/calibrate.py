"""Calibrate the review decision on other laboratories, leaving one laboratory out.

    python -m hemoscope.training calibrate --run RUN \\
        --lab jiangxi=cells:../shared/data/other-labs/jiangxi \\
        --lab bionet=fields:../shared/data/other-labs/bionet [--target 0.95]

The classifier's card sets the review threshold on the training laboratory's own
validation cells, where nearly every cell is right; on another laboratory's cells the
same threshold leaves too many wrong cells unflagged. Here each laboratory's cells are
measured once without a review threshold (flags for other reasons, unfamiliar cells and
detector/classifier disagreements, stay), then:

- **leave one laboratory out**: for each laboratory, the lowest threshold at which the
  *other* laboratories' unflagged cells are at least ``target`` right is applied to it;
  the table of what that gives is what a laboratory the threshold never saw can expect;
- the threshold written to the card is the lowest at which *every* laboratory given
  reaches ``target`` (and never lower than the card's own); where none does, the card's
  own is kept and ``target_reached`` is false.

The card (``RUN/classifier.json``) gets the threshold and a ``review_calibration``
entry with both tables and this command. No labelled test set is used.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

from hemoscope.vision import cross_lab

log = logging.getLogger(__name__)

GRID = np.round(np.arange(0.30, 0.991, 0.01), 2)


def lowest_threshold(results: list[cross_lab.SetResult], target: float) -> float | None:
    """The lowest threshold of `GRID` at which each result's unflagged cells reach
    ``target`` accuracy; None when no threshold of the grid does."""
    for t in GRID:
        scored = [cross_lab.with_threshold(r, float(t)) for r in results]
        if all(
            not np.isnan(s.accuracy_unflagged) and s.accuracy_unflagged >= target for s in scored
        ):
            return float(t)
    return None


def row(result: cross_lab.SetResult, threshold: float) -> dict[str, Any]:
    r = cross_lab.with_threshold(result, threshold)
    return {
        "set": r.name,
        "threshold": threshold,
        "accuracy": round(r.accuracy, 4),
        "accuracy_unflagged": round(r.accuracy_unflagged, 4),
        "flagged_fraction": round(r.flagged_fraction, 4),
    }


def calibrate(
    results: list[cross_lab.SetResult], target: float, floor: float
) -> tuple[float, bool, list[dict[str, Any]], list[dict[str, Any]]]:
    """The threshold for the card, whether it reaches the target on every laboratory,
    the leave-one-laboratory-out rows and the rows of the chosen threshold.

    Where no threshold reaches the target the card's own (``floor``) is kept: raising it
    to the grid's top would flag most cells everywhere, the training laboratory's
    included, and still not make the unflagged ones trustworthy; the model is the limit
    then, and the table says so."""
    lolo = []
    for i, held in enumerate(results):
        others = results[:i] + results[i + 1 :]
        t = lowest_threshold(others, target) if others else None
        lolo.append(
            {
                **row(held, floor if t is None else max(t, floor)),
                "chosen_on": [o.name for o in others],
                "target_reached_where_chosen": t is not None,
            }
        )
    best = lowest_threshold(results, target)
    chosen = floor if best is None else max(best, floor)
    return chosen, best is not None, lolo, [row(r, chosen) for r in results]


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, type=Path, help="run folder with classifier.onnx")
    p.add_argument("--lab", action="append", required=True, metavar="NAME=MODE:FOLDER")
    p.add_argument("--target", type=float, default=0.95, help="accuracy of unflagged cells")
    p.add_argument("--threads", type=int, default=2)


def run(args: argparse.Namespace, command: str) -> int:
    from hemoscope.vision.classifier import Classifier
    from hemoscope.vision.detector import Detector
    from hemoscope.vision.pipeline import Pipeline

    card_path = args.run / "classifier.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    floor = float(card.get("review_calibration", {}).get("pbc_threshold", card["review_threshold"]))
    clf = Classifier(args.run / "classifier.onnx", threads=args.threads, review_threshold=0.0)
    det = Detector(threads=args.threads)
    results = []
    for spec in args.lab:
        name, mode, folder = cross_lab.parse_set(spec, "--lab")
        samples = cross_lab.labelled_samples(folder, clf.classes)
        if mode == "fields":
            results.append(cross_lab.measure_fields(name, samples, Pipeline(det, clf)))
        else:
            results.append(cross_lab.measure_cells(name, samples, clf, det))
        log.info("%s: %d cells measured", name, results[-1].n)
    chosen, reached, lolo, rows = calibrate(results, args.target, floor)
    card["review_threshold"] = chosen
    card["review_calibration"] = {
        "command": command,
        "target_accuracy_unflagged": args.target,
        "target_reached": reached,
        "pbc_threshold": floor,
        "method": "thresholds 0.30-0.99 on the calibrated probability; lowest at which every "
        "laboratory's unflagged cells reach the target, never below the PBC threshold",
        "leave_one_lab_out": lolo,
        "chosen": rows,
    }
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    out = sys.stdout
    out.write(
        f"review threshold {chosen:.2f} (PBC's own: {floor:.2f}); unflagged cells "
        f"{'reach' if reached else 'do not reach'} {args.target:.0%} on every laboratory\n"
    )
    for r in lolo:
        out.write(
            f"  {r['set']:<10} left out: threshold {r['threshold']:.2f} chosen on "
            f"{', '.join(r['chosen_on']) or 'nothing'}: unflagged "
            f"{r['accuracy_unflagged']:.1%} right, {r['flagged_fraction']:.1%} flagged\n"
        )
    return 0
