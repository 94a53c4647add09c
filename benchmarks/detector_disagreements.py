"""Where the detector and the labels disagree about white cells: a sheet for a person to
adjudicate.

    python benchmarks/detector_disagreements.py [--data ../shared/data/txl-pbc]
                                                [--split val] [--out disagreements.png]
                                                [--adjudicated FILE]

At the card's counting thresholds, every labelled white cell the detector does not find
as a white cell (IoU >= 0.5), and every white cell it finds where none is labelled, is
listed with what the detector says there instead, and drawn on a contact sheet: the
field around it, the labelled boxes (white cell red, red cell green, platelet blue) and the
disputed box in yellow. Nothing is relabelled here; the sheet is for a haematologist to
say which side is right.

``--adjudicated FILE`` then scores the detector against the labels with a reviewer's
decisions applied: a JSON list of {"image": file name, "box": [x1, y1, x2, y2], "label":
class name}, each the label a reviewer gives the labelled box that box overlaps most
(IoU >= 0.5). It prints WBC AP50 and the share of fields with the exact WBC count, as
labelled and as adjudicated, and a ceiling: what a detector that agrees with the reviewer
everywhere would score against the labels as they are. Decisions are about the dataset's
labels and are kept beside the data (never in this repository).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hemoscope.vision.datasets import iter_yolo  # noqa: E402
from hemoscope.vision.detection_metrics import AP_SCORE_FLOOR, ImageResult, evaluate  # noqa: E402
from hemoscope.vision.detector import Detections, Detector  # noqa: E402
from hemoscope.vision.detector_decode import box_iou  # noqa: E402

WBC = 0
LABEL_COLOURS = {0: (0, 0, 255), 1: (0, 170, 0), 2: (255, 0, 0)}  # BGR
TILE = 260


@dataclass
class Disagreement:
    image: Path
    box: npt.NDArray[np.float32]
    kind: str  # "missed" (labelled WBC) or "extra" (detected WBC)
    other: str  # what the other side says there
    edge: bool


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "txl-pbc")
    parser.add_argument("--split", default="val")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("disagreements.png"))
    parser.add_argument("--adjudicated", type=Path, default=None, help="a reviewer's labels")
    args = parser.parse_args()
    det = Detector(args.model)
    names = list(det.names)
    counting = det.class_thresholds.copy()  # the card's per-class counting thresholds
    det.set_threshold(AP_SCORE_FLOOR)  # one run per field gives both the curve and the counts
    decisions = _read_decisions(args.adjudicated, names) if args.adjudicated else {}
    found: list[Disagreement] = []
    labels: dict[Path, tuple[np.ndarray, np.ndarray]] = {}
    as_labelled: list[ImageResult] = []
    as_adjudicated: list[ImageResult] = []
    reader: list[ImageResult] = []
    labelled = fields = 0
    for path, rgb, boxes, classes in iter_yolo(args.data, args.split, len(names)):
        fields += 1
        labelled += int((classes == WBC).sum())
        d = det.detect(rgb, channels="rgb")
        keep = d.scores >= counting[d.classes]
        counted = Detections(d.boxes[keep], d.classes[keep], d.scores[keep], d.names)
        here = disagreements(path, rgb.shape[:2], boxes, classes, counted, names)
        if here:
            found += here
            labels[path] = (boxes, classes)
        if args.adjudicated:
            relabelled = apply_decisions(boxes, classes, decisions.pop(path.name, []))
            as_labelled.append(ImageResult(boxes, classes, d.boxes, d.classes, d.scores))
            as_adjudicated.append(ImageResult(boxes, relabelled, d.boxes, d.classes, d.scores))
            # The reviewer as a detector, least sure where they overrule the label: the
            # best any detector agreeing with the adjudication can score as labelled.
            sure = np.where(relabelled == classes, 1.0, 0.5).astype(np.float32)
            reader.append(ImageResult(boxes, classes, boxes, relabelled, sure))
    missed = sum(x.kind == "missed" for x in found)
    print(f"{fields} fields, {labelled} labelled white cells: {missed} not found as white cells,")
    print(f"{len(found) - missed} white cells found where none is labelled")
    for x in found:
        box = ", ".join(f"{v:.0f}" for v in x.box)
        edge = " (cut by the edge)" if x.edge else ""
        print(f"  {x.kind:6s} {x.image.name}  box [{box}]{edge}: {x.other}")
    if found:
        sheet = contact_sheet(found, labels)
        if not cv2.imwrite(str(args.out), sheet):
            print(f"cannot write {args.out}", file=sys.stderr)
            return 1
        print(f"sheet: {args.out}")
    if args.adjudicated:
        if decisions:
            print(f"decisions for images not in the split: {sorted(decisions)}", file=sys.stderr)
            return 1
        rows = (
            ("as labelled", as_labelled),
            ("adjudicated", as_adjudicated),
            ("ceiling", reader),
        )
        for what, results in rows:
            report = evaluate(results, names, [float(t) for t in counting])
            print(
                f"{what:12s} WBC AP50 {report.ap50[names[WBC]]:.4f}   exact WBC count "
                f"{100 * report.exact_count_fraction[names[WBC]]:.1f} % of fields"
            )
    return 0


def _read_decisions(path: Path, names: list[str]) -> dict[str, list[tuple[np.ndarray, int]]]:
    decisions: dict[str, list[tuple[np.ndarray, int]]] = {}
    for item in json.loads(path.read_text(encoding="utf-8")):
        box = np.array(item["box"], np.float32)
        decisions.setdefault(item["image"], []).append((box, names.index(item["label"])))
    return decisions


def apply_decisions(boxes, classes, decisions) -> npt.NDArray[np.int64]:
    """``classes`` with each decision's label on the labelled box it overlaps most."""
    out = classes.copy()
    for box, label in decisions:
        iou = box_iou(box[None], boxes)[0] if len(boxes) else np.zeros(0)
        if not len(iou) or iou.max() < 0.5:
            raise SystemExit(f"no labelled box matches the decision {box.tolist()}")
        out[int(iou.argmax())] = label
    return out


def disagreements(path, shape, boxes, classes, d, names) -> list[Disagreement]:
    h, w = shape
    out = []
    gt_wbc, det_wbc = boxes[classes == WBC], d.boxes[d.classes == WBC]
    iou = box_iou(gt_wbc, det_wbc) if len(gt_wbc) and len(det_wbc) else None
    for i, g in enumerate(gt_wbc):
        if iou is not None and iou[i].max() >= 0.5:
            continue
        out.append(Disagreement(path, g, "missed", _said_there(g, d, names), _edge(g, w, h)))
    for j, b in enumerate(det_wbc):
        if iou is not None and iou[:, j].max() >= 0.5:
            continue
        near = box_iou(b[None], boxes)[0] if len(boxes) else np.zeros(0)
        label = names[int(classes[near.argmax()])] if len(near) and near.max() >= 0.5 else "none"
        score = float(d.scores[d.classes == WBC][j])
        other = f"labelled {label}; detector says wbc {score:.2f}"
        out.append(Disagreement(path, b, "extra", other, _edge(b, w, h)))
    return out


def _said_there(box, d, names) -> str:
    if not len(d.boxes):
        return "the detector finds nothing there"
    iou = box_iou(box[None], d.boxes)[0]
    k = int(iou.argmax())
    if iou[k] < 0.5:
        return "the detector finds nothing there"
    return f"the detector says {names[int(d.classes[k])]} {float(d.scores[k]):.2f}"


def _edge(box, w: int, h: int, margin: float = 2.0) -> bool:
    x1, y1, x2, y2 = (float(v) for v in box)
    return x1 <= margin or y1 <= margin or x2 >= w - margin or y2 >= h - margin


def contact_sheet(found: list[Disagreement], labels: dict[Path, tuple[np.ndarray, np.ndarray]]):
    tiles = []
    for x in found:
        image = cv2.imread(str(x.image), cv2.IMREAD_COLOR)
        boxes, classes = labels[x.image]
        for b, c in zip(boxes, classes, strict=True):
            p1, p2 = (int(b[0]), int(b[1])), (int(b[2]), int(b[3]))
            cv2.rectangle(image, p1, p2, LABEL_COLOURS.get(int(c), (128, 128, 128)), 1)
        p1, p2 = (int(x.box[0]), int(x.box[1])), (int(x.box[2]), int(x.box[3]))
        cv2.rectangle(image, p1, p2, (0, 255, 255), 2)
        # the field around the box, three box-sizes wide, padded black at the edges
        side = int(max(x.box[2] - x.box[0], x.box[3] - x.box[1]) * 3) + 20
        cx, cy = int((x.box[0] + x.box[2]) / 2), int((x.box[1] + x.box[3]) / 2)
        padded = cv2.copyMakeBorder(image, side, side, side, side, cv2.BORDER_CONSTANT)
        crop = padded[cy + side // 2 : cy + side * 3 // 2, cx + side // 2 : cx + side * 3 // 2]
        tile = cv2.resize(crop, (TILE, TILE), interpolation=cv2.INTER_AREA)
        caption = f"{x.kind} {x.image.stem[:8]}"
        cv2.putText(tile, caption, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1)
        tiles.append(tile)
    per_row = 4
    while len(tiles) % per_row:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i : i + per_row]) for i in range(0, len(tiles), per_row)]
    return np.vstack(rows)


if __name__ == "__main__":
    raise SystemExit(main())
