"""``hemoscope classify PATH...``: each image is one cell's crop; print its class."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from hemoscope.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    add_sensitivity_arg,
    error,
    model_info,
    write_json,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "classify",
        help="classify single-cell crop images (files or folders)",
        description="Treats each image as one white cell's crop. The detector finds the white "
        "cell nearest the centre and the crop rule frames it as in a field (--framing whole: "
        "use the whole image). Prints the class, its calibrated probability and, when the "
        "cell should be reviewed, why (low confidence, no white cell or no cell found).",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="image files or folders")
    p.add_argument("--recursive", action="store_true", help="include sub-folders")
    p.add_argument("--json", type=Path, help="write the results here")
    add_framing_args(p)
    p.add_argument("--model", type=Path, help="classifier ONNX file (default: the shipped one)")
    add_lab_arg(p)
    add_sensitivity_arg(p)
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(handler=classify)


def add_lab_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--lab",
        type=Path,
        metavar="PROFILE",
        help="laboratory profile made by 'hemoscope adapt' for these models",
    )


def add_framing_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--framing",
        choices=("detect", "whole"),
        default="detect",
        help="find the cell with the detector and apply the crop rule (default), or use "
        "the whole image as the crop",
    )
    p.add_argument("--detector", type=Path, help="detector ONNX file (default: the shipped one)")


def cell_cropper(args: argparse.Namespace, clf: Any) -> Any:
    """A function image -> (crop, framing) for the chosen framing."""
    from hemoscope.vision.detector import Detector
    from hemoscope.vision.single_cell import frame_single_cell

    finder = Detector(args.detector, threads=args.threads) if args.framing == "detect" else None
    if getattr(args, "lab", None) is not None:
        from hemoscope.vision.lab_profile import LabProfile

        profile = LabProfile.load(args.lab)
        profile.check_models(
            {"classifier": clf.card, **({"detector": finder.card} if finder else {})}
        )
        clf.set_profile(profile)
    return lambda image: frame_single_cell(image, clf.input_size, clf.crop_scale, finder)


def classify(args: argparse.Namespace) -> int:
    from hemoscope.capture.image_files import ImageReadError, list_images, read_image
    from hemoscope.vision.classifier import Classifier
    from hemoscope.vision.model_card import ModelError
    from hemoscope.vision.single_cell import review_reason

    try:
        clf = Classifier(args.model, threads=args.threads, sensitivity=args.sensitivity)
        crop = cell_cropper(args, clf)
    except ModelError as exc:
        error(str(exc))
        return EXIT_FAILED
    files = list_images(args.paths, recursive=args.recursive)
    if not files:
        error("no image files found")
        return EXIT_FAILED
    rows: list[dict[str, Any]] = []
    width = min(60, max(len(str(f)) for f in files))
    sys.stdout.write(f"{'file':<{width}}  {'class':<13}{'prob':>6}  review\n")
    for start in range(0, len(files), 64):
        chunk = files[start : start + 64]
        crops, ok_rows = [], []
        for path in chunk:
            row: dict[str, Any] = {"file": str(path)}
            try:
                image_crop, framing = crop(read_image(path))
                crops.append(image_crop)
                row.update(status="ok", framing=framing)
                ok_rows.append(row)
            except ImageReadError as exc:
                row.update(status="error", error=exc.reason)
                error(f"{path}: {exc.reason}")
            rows.append(row)
        if crops:
            res = clf.classify_crops(np.stack(crops))
            for i, row in enumerate(ok_rows):
                own = res.review_reasons()[i]
                reason = review_reason(row["framing"], res.labels[i], own)
                row.update(
                    {
                        "class": res.labels[i],
                        "probability": round(float(res.confidence[i]), 4),
                        "stain_standardisation": res.stain[i] if res.stain else "off",
                        # The nearest-neighbour score's thresholds are hundredths:
                        # six decimals, as the card gives them.
                        "unfamiliarity": _finite(res.unfamiliarity, i, 6),
                        "blur_width": _finite(res.blur, i),
                        "review": bool(reason),
                        "review_reason": reason,
                        "probabilities": {
                            c: round(float(p), 4)
                            for c, p in zip(clf.classes, res.probabilities[i], strict=True)
                        },
                    }
                )
        for row in rows[start:]:
            if row["status"] == "ok":
                mark = f"yes: {row['review_reason']}" if row["review"] else ""
                name = row["file"][-width:]
                prob = row["probability"]
                sys.stdout.write(f"{name:<{width}}  {row['class']:<13}{prob:>6.3f}  {mark}\n")
    if args.json:
        write_json(
            args.json,
            {
                "version": 1,
                "model": model_info(clf.card),
                "lab_profile": clf.profile.card() if clf.profile is not None else None,
                "review_threshold": clf.review_threshold,
                "review_sensitivity": clf.sensitivity,
                "images": rows,
            },
        )
    n_ok = sum(r["status"] == "ok" for r in rows)
    if n_ok == 0:
        return EXIT_FAILED
    return EXIT_OK if n_ok == len(rows) else EXIT_PARTIAL


def _finite(values: np.ndarray, i: int, digits: int = 3) -> float | None:
    """``values[i]`` rounded for the JSON report; None when not measured (NaN, or no
    values: a model without the statistics)."""
    if i >= len(values) or not np.isfinite(values[i]):
        return None
    return round(float(values[i]), digits)
