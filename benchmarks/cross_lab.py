"""White cells from other laboratories: accuracy beside the fraction flagged, per set.

    python benchmarks/cross_lab.py [--data ../shared/data] [--model FILE] [--detector FILE]
                                   [--set NAME=MODE:FOLDER ...] [--every N] [--json FILE]

Default sets (those present under ``--data``):

- ``pbc-val``: the classifier's own validation split of PBC (CellaVision, Barcelona; the
  training laboratory), single-cell images as ``hemoscope classify`` frames them;
- ``jiangxi``: ``other-labs/jiangxi`` (Motic camera, rapid stain), 120x120 crops;
- ``bionet``: ``other-labs/bionet`` (Olympus + EP50, low magnification), 640x480 fields
  through the whole pipeline as ``hemoscope analyze`` runs it.

Per set: accuracy, balanced accuracy, accuracy of the cells not flagged, flagged
fraction, flags by reason and the confusion (`hemoscope.vision.cross_lab`). ``--set``
adds or replaces a set: MODE is ``cells`` or ``fields``; FOLDER has one sub-folder per
class, named as ``hemoscope evaluate`` names them.

``--calibrate`` adds, for every set, two rows: ``NAME+colour``, the same cells with the
set's own colour calibration (`vision.colour_calibration`), fitted on the white cells of
all the set's images WITHOUT their labels, exactly as ``hemoscope adapt --colour-only
--no-neighbours --data FOLDER`` fits it for a microscope (for pbc-val: its own
images), applied as the station applies it (the camera's and the calibrated crop
averaged); and ``NAME+colour alone``, the calibrated crop alone.

``--neighbours`` adds, for every set, the row ``NAME+neighbours``: the profile that
``hemoscope adapt --colour-only`` makes (colour calibration and the laboratory's own
cells as neighbours, `vision.lab_neighbours`; labels unused), fitted on one half of the
set's images and measured on the other half, then the other way round (two folds, the
halves drawn at random with a fixed seed): no cell votes for itself.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import halves_both_ways, set_more_turns  # noqa: E402

from hemoscope.vision import cross_lab, microscope_cells  # noqa: E402
from hemoscope.vision.classifier import Classifier  # noqa: E402
from hemoscope.vision.colour_calibration import CalibrationError  # noqa: E402
from hemoscope.vision.datasets import Sample, stratified_split  # noqa: E402
from hemoscope.vision.detector import Detector  # noqa: E402
from hemoscope.vision.lab_profile import LabProfile  # noqa: E402
from hemoscope.vision.pipeline import Pipeline  # noqa: E402
from hemoscope.vision.unfamiliar import SENSITIVITIES, STANDARD  # noqa: E402

COLOUR_VIEWS = {None: "", "average": "+colour", "calibrated": "+colour alone"}
"""With ``--calibrate`` each set is measured as the camera gave it, with its colour
calibration as the station applies it (the camera's and the calibrated crop averaged,
``+colour``) and with the calibrated crop alone (``+colour alone``): which of the two
suits a classifier is the classifier's own: its card's ``colour_view``
(`vision.lab_profile.colour_view_of`), which the station follows."""
PBC_SEED = 20261122
PBC_VAL_FRACTION = 0.15
NEIGHBOUR_SEED = 20261205


def default_sets(data: Path) -> list[tuple[str, str, Path]]:
    candidates = [
        ("pbc-val", "cells", data / "pbc"),
        ("jiangxi", "cells", data / "other-labs" / "jiangxi"),
        ("bionet", "fields", data / "other-labs" / "bionet"),
    ]
    return [c for c in candidates if c[2].is_dir()]


def run(
    sets: list[tuple[str, str, Path]],
    model: Path | None,
    detector: Path | None,
    threads: int,
    every: int = 1,
    calibrate: bool = False,
    sensitivity: str = STANDARD,
    neighbours: bool = False,
    more_turns_below: str | None = None,
) -> list[cross_lab.SetResult]:
    clf = Classifier(model, threads=threads, sensitivity=sensitivity)
    set_more_turns(clf, more_turns_below)
    det = Detector(detector, threads=threads)
    pipeline = Pipeline(det, clf)
    results = []
    for name, mode, folder in sets:
        samples = cross_lab.labelled_samples(folder, clf.classes)
        if name == "pbc-val":  # the classifier's own validation split, never trained on
            samples = stratified_split(samples, PBC_VAL_FRACTION, PBC_SEED)[1]
        samples = samples[::every]
        profile = (
            colour_profile(pipeline, samples, mode, f"{name}+colour", neighbours=False)
            if calibrate
            else None
        )
        for view in COLOUR_VIEWS if profile is not None else (None,):
            label = name if view is None else f"{name}{COLOUR_VIEWS[view]}"
            if sensitivity != STANDARD:
                label = f"{label} @{sensitivity}"
            if profile is not None and view is not None:
                clf.set_profile(replace(profile, colour_view=view))
            t0 = time.perf_counter()
            res = measure(pipeline, label, samples, mode)
            clf.set_profile(None)
            print(f"{label}: {res.n} cells in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            results.append(res)
        if neighbours:
            label = f"{name}+neighbours" + (f" @{sensitivity}" if sensitivity != STANDARD else "")
            results.append(two_folds(pipeline, samples, mode, label))
    return results


def measure(
    pipeline: Pipeline, label: str, samples: list[Sample], mode: str
) -> cross_lab.SetResult:
    if mode == "fields":
        return cross_lab.measure_fields(label, samples, pipeline)
    return cross_lab.measure_cells(label, samples, pipeline.classifier, pipeline.detector)


def two_folds(
    pipeline: Pipeline, samples: list[Sample], mode: str, label: str
) -> cross_lab.SetResult:
    """The set scored with profiles (colour and neighbours) fitted on its other half."""
    clf = pipeline.classifier
    merged = cross_lab.SetResult(label, "fields" if mode == "fields" else "cells", clf.classes)
    t0 = time.perf_counter()
    for bank, scored in halves_both_ways(len(samples), NEIGHBOUR_SEED):
        profile = colour_profile(pipeline, [samples[i] for i in bank], mode, label)
        clf.set_profile(profile)
        try:
            res = measure(pipeline, label, [samples[i] for i in scored], mode)
        finally:
            clf.set_profile(None)
        merged.predictions.extend(res.predictions)
        merged.unreadable.extend(res.unreadable)
    print(f"{label}: {merged.n} cells in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return merged


def colour_profile(
    pipeline: Pipeline, samples: list[Sample], mode: str, name: str, neighbours: bool = True
) -> LabProfile:
    """The profile of the set's microscope from its images' white cells, labels unused:
    its colour calibration and (``neighbours``) the cells as its neighbourhood."""
    kind: Literal["cells", "fields"] = "fields" if mode == "fields" else "cells"
    crops, _, _ = microscope_cells.from_paths([s.path for s in samples], kind, pipeline)
    try:
        return microscope_cells.colour_profile(pipeline, crops, name, neighbours=neighbours)
    except CalibrationError as exc:
        raise SystemExit(f"--calibrate: {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--model", type=Path, default=None, help="classifier ONNX file")
    parser.add_argument("--detector", type=Path, default=None, help="detector ONNX file")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=MODE:FOLDER")
    parser.add_argument("--only", action="append", default=[], help="only these sets")
    parser.add_argument("--every", type=int, default=1, help="every n-th image of each set")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="also each set with its own colour calibration (fitted without its labels)",
    )
    parser.add_argument(
        "--sensitivity",
        choices=tuple(SENSITIVITIES),
        default=STANDARD,
        help="flag unfamiliar cells at this review sensitivity (sets are named NAME @LEVEL)",
    )
    parser.add_argument(
        "--neighbours",
        action="store_true",
        help="also each set with profiles (colour and neighbours) fitted on its other half",
    )
    parser.add_argument(
        "--more-turns-below",
        default=None,
        help="later turns only below this first-view probability, or 'every' (default: card)",
    )
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--card",
        type=Path,
        default=None,
        help="also write the table into this classifier card (metrics.cross_lab)",
    )
    args = parser.parse_args(argv)
    sets = {s[0]: s for s in default_sets(args.data)}
    sets.update({s[0]: s for s in map(cross_lab.parse_set, args.set)})
    chosen = [sets[n] for n in (args.only or list(sets)) if n in sets]
    if not chosen:
        print(f"no labelled sets under {args.data} (and none given with --set)", file=sys.stderr)
        return 1
    if args.card and args.sensitivity != STANDARD:
        parser.error("--card records the standard review sensitivity only")
    results = run(
        chosen,
        args.model,
        args.detector,
        args.threads,
        max(1, args.every),
        args.calibrate,
        args.sensitivity,
        args.neighbours,
        args.more_turns_below,
    )
    print(cross_lab.format_table(results))
    for r in results:
        print()
        print(cross_lab.format_confusion(r))
    table = [r.as_dict() for r in results]
    if args.json:
        args.json.write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")
    if args.card:
        card = json.loads(args.card.read_text(encoding="utf-8"))
        card.setdefault("metrics", {})["cross_lab"] = {
            "command": "python benchmarks/cross_lab.py "
            + " ".join(sys.argv[1:] if argv is None else argv),
            "sets": {
                "pbc-val": "PBC validation split (training laboratory), single-cell images",
                "jiangxi": "other-labs/jiangxi: Motic camera, rapid stain, 120x120 crops",
                "bionet": "other-labs/bionet: Olympus + EP50, low magnification, 640x480 "
                "fields through the whole pipeline",
                "NAME+colour": "the same cells with the set's own colour calibration, fitted "
                "on all its images' white cells without their labels (hemoscope adapt "
                "--colour-only --no-neighbours), as the station applies it: the camera's and "
                "the calibrated "
                "crop averaged",
                "NAME+colour alone": "the same calibration, the calibrated crop alone",
                "NAME+neighbours": "the profile hemoscope adapt --colour-only makes (colour "
                "calibration and the laboratory's own cells as neighbours, labels unused), "
                "fitted on one half of the set's images and measured on the other, both ways",
            },
            "table": [
                {k: v for k, v in row.items() if k not in ("classes", "unreadable")}
                for row in table
            ],
        }
        args.card.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
