"""Labelled white cells that ``hemoscope analyze`` reports as white cells, and how many of
the white cells it reports are real.

    python benchmarks/wbc_reported.py [--data ../shared/data/txl-pbc] [--split val]
                                      [--model FILE] [--detector FILE]
                                      [--without-kind-rule] [--json FILE]

Each field of the YOLO-layout split goes through the pipeline as ``analyze`` runs it;
a reported white cell is a cell whose kind as counted (`core.effective_kind`, the
``kind`` of ``analyze --json``) is ``wbc``. Reported white cells and labelled ones are
matched one to one, highest IoU first, at IoU >= 0.5; a labelled box overlapping another
labelled white cell at IoU >= 0.5 labels the same cell twice and counts once. Printed:
labelled white cells reported as white cells (recall), reported white cells that are
labelled ones (precision), labelled white cells found but reported as another kind, how
many of those not reported are cut by the field's edge (the station keeps such cells out
of the tally whatever their kind), and the flags.
``--without-kind-rule`` measures the pipeline as it was before detector/classifier
disagreements were kept in the differential, for comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import hemoscope.vision.pipeline as pipeline_module  # noqa: E402
from hemoscope.core import CellKind, effective_kind  # noqa: E402
from hemoscope.core.overlap import box_cut_by_edge  # noqa: E402
from hemoscope.vision.datasets import iter_yolo  # noqa: E402
from hemoscope.vision.detector_decode import box_iou  # noqa: E402
from hemoscope.vision.pipeline import Pipeline  # noqa: E402

IOU = 0.5


def match(pred: np.ndarray, truth: np.ndarray) -> list[tuple[int, int]]:
    """One-to-one pairs (pred, truth) at IoU >= `IOU`, highest IoU first."""
    if not len(pred) or not len(truth):
        return []
    ious = box_iou(pred.astype(np.float32), truth.astype(np.float32))
    pairs = []
    used_p: set[int] = set()
    used_t: set[int] = set()
    for flat in np.argsort(-ious, axis=None):
        i, j = divmod(int(flat), ious.shape[1])
        if ious[i, j] < IOU:
            break
        if i not in used_p and j not in used_t:
            pairs.append((i, j))
            used_p.add(i)
            used_t.add(j)
    return pairs


def distinct(truth: np.ndarray) -> np.ndarray:
    """The labelled white-cell boxes with each cell once: a box overlapping an earlier one
    at IoU >= `IOU` labels the same cell twice (one white cell cannot be two) and is
    dropped."""
    if len(truth) < 2:
        return truth
    ious = box_iou(truth.astype(np.float32), truth.astype(np.float32))
    keep: list[int] = []
    for j in range(len(truth)):
        if all(ious[j, i] < IOU for i in keep):
            keep.append(j)
    return truth[keep]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "txl-pbc")
    parser.add_argument("--split", default="val")
    parser.add_argument("--model", type=Path, default=None, help="classifier ONNX file")
    parser.add_argument("--detector", type=Path, default=None, help="detector ONNX file")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--without-kind-rule", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"{args.data} is not there", file=sys.stderr)
        return 1
    if args.without_kind_rule:
        pipeline_module.wbc_sized = lambda box, rbc: False  # type: ignore[assignment]
    pipeline = Pipeline.load(args.detector, args.model, threads=args.threads)
    labelled = reported = real = missed_at_edge = twice = 0
    found_as: Counter[str] = Counter()
    flags: Counter[str] = Counter()
    fields = 0
    for path, rgb, boxes, classes in iter_yolo(args.data, args.split, 3):
        fields += 1
        fld = pipeline.analyze(rgb, "rgb", source=path.name)
        every_label = boxes[classes == 0]
        truth = distinct(every_label)
        twice += len(every_label) - len(truth)
        white = [c for c in fld.cells if effective_kind(c) is CellKind.WBC]
        others = [c for c in fld.cells if effective_kind(c) is not CellKind.WBC]
        labelled += len(truth)
        reported += len(white)
        pw = np.array([c.box.as_tuple() for c in white], np.float64).reshape(-1, 4)
        pairs = match(pw, truth)
        real += len(pairs)
        for i, _ in pairs:
            flags[white[i].review_reason or ("flagged" if white[i].review else "not flagged")] += 1
        missed = sorted(set(range(len(truth))) - {j for _, j in pairs})
        height, width = rgb.shape[:2]
        missed_at_edge += sum(
            box_cut_by_edge(tuple(float(v) for v in truth[j]), width, height)  # type: ignore[arg-type]
            for j in missed
        )
        po = np.array([c.box.as_tuple() for c in others], np.float64).reshape(-1, 4)
        for i, _ in match(po, truth[missed]):
            found_as[effective_kind(others[i]).value] += 1
    recall = real / max(labelled, 1)
    precision = real / max(reported, 1)
    print(
        f"{args.data.name} {args.split}: {fields} fields, {labelled} labelled white cells "
        f"({twice} more labels give a cell labelled already, IoU >= {IOU}: counted once)"
    )
    print(f"  reported as white cells: {real} ({recall:.1%} of labelled)")
    print(f"  reported white cells that are labelled ones: {precision:.1%} ({real} of {reported})")
    print(f"  labelled white cells found but reported as: {dict(found_as) or 'none'}")
    print(
        f"  of the {labelled - real} not reported as white cells, {missed_at_edge} are cut by "
        "the field's edge (out of the tally whatever their kind)"
    )
    print(f"  review of the matched white cells: {dict(flags.most_common())}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "data": str(args.data),
                    "split": args.split,
                    "fields": fields,
                    "labelled_wbc": labelled,
                    "labels_of_a_cell_labelled_already": twice,
                    "reported_wbc": reported,
                    "matched": real,
                    "recall": round(recall, 4),
                    "precision": round(precision, 4),
                    "found_as_other_kinds": dict(found_as),
                    "not_reported_cut_by_edge": missed_at_edge,
                    "kind_rule": not args.without_kind_rule,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
