"""``hemoscope evaluate classifier|detector``: measure a model on labelled images."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

from hemoscope.commands.classify import add_framing_args, add_lab_arg, cell_cropper
from hemoscope.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    add_sensitivity_arg,
    error,
    model_info,
    write_json,
)

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("evaluate", help="measure a model on labelled images")
    sub = p.add_subparsers(dest="model", metavar="MODEL", required=True)
    c = sub.add_parser(
        "classifier",
        help="accuracy, macro-F1, per-class precision/recall and confusion on an ImageFolder tree",
        description="Each sub-folder holds single-cell images of one class; folder names are "
        "matched to the cell classes case-insensitively (Neutrophil, NEUTROPHIL, neutrophils).",
    )
    c.add_argument("--data", required=True, type=Path, help="folder with one sub-folder per class")
    c.add_argument("--json", type=Path, help="write the metrics here")
    c.add_argument("--png", type=Path, help="write the confusion matrix as an image here")
    add_framing_args(c)
    c.add_argument(
        "--split",
        choices=("all", "val", "train"),
        default="all",
        help="all images (default), or the seeded split the classifier was trained with "
        "(the validation part: files ranked by sha1 of seed and name, per class)",
    )
    c.add_argument("--seed", type=int, default=20261122, help="split seed (with --split)")
    c.add_argument(
        "--val-fraction", type=float, default=0.15, help="validation share (with --split)"
    )
    c.add_argument("--model", type=Path, help="classifier ONNX file (default: the shipped one)")
    add_lab_arg(c)
    add_sensitivity_arg(c)
    c.add_argument("--threads", type=int, default=None)
    c.set_defaults(handler=evaluate_classifier)
    d = sub.add_parser(
        "detector",
        help="AP50 per class, mAP50, mAP50-95 and count errors on a YOLO-layout folder",
        description="DATA holds images/ and labels/ (flat or with split sub-folders).",
    )
    d.add_argument("--data", required=True, type=Path, help="YOLO-layout folder")
    d.add_argument("--split", help="split sub-folder (default: flat layout, else val, else all)")
    d.add_argument("--json", type=Path, help="write the metrics here")
    d.add_argument("--model", type=Path, help="detector ONNX file (default: the shipped one)")
    d.add_argument("--threads", type=int, default=None)
    d.set_defaults(handler=evaluate_detector)


def evaluate_classifier(args: argparse.Namespace) -> int:
    from hemoscope.capture.image_files import ImageReadError, read_image
    from hemoscope.vision.classification_metrics import classification_report, confusion_matrix
    from hemoscope.vision.classifier import Classifier
    from hemoscope.vision.datasets import map_folders
    from hemoscope.vision.model_card import ModelError

    try:
        clf = Classifier(args.model, threads=args.threads, sensitivity=args.sensitivity)
        crop = cell_cropper(args, clf)
        mapping = map_folders(args.data, clf.classes)
    except (ModelError, FileNotFoundError) as exc:
        error(str(exc))
        return EXIT_FAILED
    for folder in mapping.unmatched:
        error(f"folder '{folder}' matches no class of the classifier; its images are not counted")
    for folder, parent in mapping.via_parent.items():
        log.info("folder '%s' is counted as %s", folder, parent)
    if not mapping.labels:
        error(f"no sub-folder of {args.data} matches a class ({', '.join(clf.classes)})")
        return EXIT_FAILED
    from hemoscope.vision.single_cell import review_reason

    y_true: list[int] = []
    y_pred: list[int] = []
    reasons: list[str] = []
    failed: list[dict[str, str]] = []
    batch: list[np.ndarray] = []
    batch_labels: list[int] = []
    framings: list[Any] = []

    def flush() -> None:
        if batch:
            res = clf.classify_crops(np.stack(batch))
            y_pred.extend(clf.classes.index(lbl) for lbl in res.labels)
            y_true.extend(batch_labels)
            for i, framing in enumerate(framings):
                own = res.review_reasons()[i]
                reasons.append(review_reason(framing, res.labels[i], own))
            batch.clear()
            batch_labels.clear()
            framings.clear()

    for path, label in _split_files(args, mapping.labels):
        try:
            image_crop, framing = crop(read_image(path))
            batch.append(image_crop)
            batch_labels.append(label)
            framings.append(framing)
        except ImageReadError as exc:
            failed.append({"file": str(path), "error": exc.reason})
            error(f"{path}: {exc.reason}")
        if len(batch) >= 64:
            flush()
    flush()
    if not y_true:
        error("no readable images")
        return EXIT_FAILED
    cm = confusion_matrix(y_true, y_pred, len(clf.classes))
    rep = classification_report(cm)
    review = _review_figures(y_true, y_pred, reasons)
    _print_classifier_report(rep, clf.classes, review)
    result: dict[str, Any] = {
        "version": 1,
        "model": model_info(clf.card),
        "lab_profile": clf.profile.card() if clf.profile is not None else None,
        "review_sensitivity": clf.sensitivity,
        "data": str(args.data),
        "framing": args.framing,
        "split": args.split
        if args.split == "all"
        else f"{args.split} (seed {args.seed}, validation {args.val_fraction:g})",
        "images": len(y_true),
        "accuracy": rep.accuracy,
        "macro_f1": rep.macro_f1,
        **review,
        "per_class": {
            c: {
                "precision": rep.precision[i],
                "recall": rep.recall[i],
                "f1": rep.f1[i],
                "support": rep.support[i],
            }
            for i, c in enumerate(clf.classes)
        },
        "confusion": {"classes": list(clf.classes), "matrix": [list(r) for r in rep.confusion]},
        "unmatched_folders": list(mapping.unmatched),
        "folders_counted_as": mapping.via_parent,
        "failed": failed,
    }
    if args.json:
        write_json(args.json, result)
    if args.png:
        from hemoscope.vision.confusion_png import save_confusion_png

        save_confusion_png(
            args.png, cm, clf.classes, f"accuracy {rep.accuracy:.3f}, macro-F1 {rep.macro_f1:.3f}"
        )
    return EXIT_OK


def _review_figures(y_true: list[int], y_pred: list[int], reasons: list[str]) -> dict[str, Any]:
    """Balanced accuracy, the flagged fraction, the accuracy of the cells not flagged and
    the flags by reason (`vision.cross_lab.SetResult`): no accuracy without the flagged
    fraction beside it."""
    from hemoscope.vision.cross_lab import Prediction, SetResult

    res = SetResult("evaluate", "cells", ())
    res.predictions += [
        Prediction(t, p, bool(r), r) for t, p, r in zip(y_true, y_pred, reasons, strict=True)
    ]
    unflagged = res.accuracy_unflagged
    return {
        "balanced_accuracy": res.balanced_accuracy,
        "flagged_fraction": res.flagged_fraction,
        "accuracy_unflagged": None if np.isnan(unflagged) else unflagged,
        "flagged_by_reason": res.reasons(),
    }


def _print_classifier_report(rep: Any, classes: tuple[str, ...], review: dict[str, Any]) -> None:
    out = sys.stdout
    unflagged = review["accuracy_unflagged"]
    out.write(
        f"accuracy {rep.accuracy:.4f}   balanced {review['balanced_accuracy']:.4f}   "
        f"macro-F1 {rep.macro_f1:.4f}\n"
        f"flagged for review {review['flagged_fraction']:.1%}   accuracy of the cells not "
        f"flagged {'-' if unflagged is None else f'{unflagged:.4f}'}\n"
    )
    reasons = ", ".join(f"{k} {v}" for k, v in review["flagged_by_reason"].items())
    out.write(f"flagged by reason: {reasons or 'none'}\n\n")
    out.write(f"{'class':<14}{'precision':>10}{'recall':>10}{'F1':>10}{'n':>8}\n")
    for i, c in enumerate(classes):
        out.write(
            f"{c:<14}{rep.precision[i]:>10.4f}{rep.recall[i]:>10.4f}{rep.f1[i]:>10.4f}{rep.support[i]:>8d}\n"
        )
    out.write("\nconfusion (rows true, columns predicted)\n")
    out.write(" " * 14 + "".join(f"{c[:6]:>7}" for c in classes) + "\n")
    for i, c in enumerate(classes):
        out.write(f"{c:<14}" + "".join(f"{v:>7d}" for v in rep.confusion[i]) + "\n")


def evaluate_detector(args: argparse.Namespace) -> int:
    from hemoscope.vision.datasets import iter_yolo
    from hemoscope.vision.detection_metrics import AP_SCORE_FLOOR, ImageResult, evaluate
    from hemoscope.vision.detector import Detector
    from hemoscope.vision.model_card import ModelError

    try:
        det = Detector(args.model, threads=args.threads)
    except ModelError as exc:
        error(str(exc))
        return EXIT_FAILED
    count_thresholds = [float(t) for t in det.class_thresholds]
    det.set_threshold(AP_SCORE_FLOOR)  # the whole precision-recall curve
    results: list[ImageResult] = []
    try:
        for _path, rgb, boxes, classes in iter_yolo(args.data, args.split, len(det.names)):
            d = det.detect(rgb, channels="rgb")
            results.append(ImageResult(boxes, classes, d.boxes, d.classes, d.scores))
    except (FileNotFoundError, ValueError) as exc:
        error(str(exc))
        return EXIT_FAILED
    if not results:
        error(f"no images found under {args.data}")
        return EXIT_FAILED
    rep = evaluate(results, det.names, count_thresholds)
    out = sys.stdout
    out.write(f"images {rep.images}   mAP50 {rep.map50:.4f}   mAP50-95 {rep.map50_95:.4f}\n\n")
    out.write(f"{'class':<10}{'AP50':>8}{'AP50-95':>9}{'count MAE':>11}{'exact count':>13}\n")
    for name in det.names:
        out.write(
            f"{name:<10}{rep.ap50[name]:>8.4f}{rep.ap50_95[name]:>9.4f}"
            f"{rep.count_mae[name]:>11.3f}{rep.exact_count_fraction[name]:>12.1%}\n"
        )
    if args.json:
        write_json(
            args.json,
            {"version": 1, "model": model_info(det.card), "data": str(args.data), **rep.as_dict()},
        )
    return EXIT_OK


def _split_files(args: argparse.Namespace, labels: dict[str, int]) -> list[tuple[Path, int]]:
    """The images to evaluate, ``(path, class index)``, in folder order."""
    from hemoscope.vision.datasets import Sample, image_files, stratified_split

    files = [
        (p, label) for folder, label in labels.items() for p in image_files(args.data / folder)
    ]
    if args.split == "all":
        return files
    train, val = stratified_split(
        [Sample(p, label) for p, label in files], args.val_fraction, args.seed
    )
    keep = {s.path for s in (val if args.split == "val" else train)}
    return [(p, label) for p, label in files if p in keep]
