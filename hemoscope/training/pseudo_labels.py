"""Pseudo-labelled white cells from other laboratories' fields, for a student classifier.

TXL-PBC's fields come from four sources (BCCD, BCDD, Raabin-WBC and PBC); their WBC
boxes say where the white cells are, not which class. Each non-PBC source is one
laboratory's microscope: its cells are cut by the run-time crop rule (scale from the
field's labelled red cells), the source's colour calibration (`vision.colour_calibration`,
fitted on all its crops, no labels) is applied, and the shipped classifier (the teacher)
names each cell from the mean probabilities of four quarter turns. Cells the teacher is
sure of (probability at least ``min_confidence``) and does not find unfamiliar are
written, *as the camera gave them* (no calibration), into an ImageFolder tree framed as
PBC's images are framed (cell centred, `PBC_CELL_FRACTION` of the side), so that the
student learns the teacher's calibrated calls from the uncalibrated colours
(``train classifier --extra FOLDER``). A ``pseudo.json`` beside the classes lists every
cell, kept or not, with its source, class and probability.

    python -m hemoscope.training pseudo-labels --model models/classifier.onnx \
        --fields ../shared/data/txl-pbc --split train --out RUNS/pseudo-txl
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from hemoscope.core import REASON_UNFAMILIAR, split_reasons
from hemoscope.core.overlap import box_cut_by_edge
from hemoscope.training.domain_cells import SAVED_SIDE, frame_as_pbc, write_source
from hemoscope.vision.classifier import Classifier
from hemoscope.vision.colour_calibration import ColourCalibration, ColourReference
from hemoscope.vision.crops import crop_geometry, cut_crop, rbc_diameter
from hemoscope.vision.datasets import load_rgb, read_yolo_labels

log = logging.getLogger(__name__)

U8 = npt.NDArray[np.uint8]

SOURCES = {(575, 575): "raabin", (416, 416): "bcdd", (640, 480): "bccd"}
"""TXL-PBC's sources by image size (width, height); PBC's own fields (360x363, 366x369)
are left out: their cells are PBC's, already labelled."""


@dataclass(frozen=True)
class PseudoCell:
    file: str
    source: str
    box: tuple[float, float, float, float]
    label: str
    probability: float
    unfamiliar: bool
    kept: bool


Box = tuple[float, float, float, float]


def field_cells(rgb: U8, label_file: Path, size: int) -> list[tuple[Box, U8, U8]]:
    """(box, classifier crop, PBC-framed image) of each whole labelled white cell of a
    field; the scale from its labelled red cells, as the crop rule takes it at run time."""
    h, w = rgb.shape[:2]
    boxes, cls = read_yolo_labels(label_file, w, h, 3)
    rbc = rbc_diameter(boxes[cls == 1], w, h)
    out = []
    for x1, y1, x2, y2 in boxes[cls == 0].astype(float):
        if box_cut_by_edge((x1, y1, x2, y2), w, h):
            continue
        cx, cy, side = crop_geometry(x1, y1, x2, y2, rbc=rbc)
        crop = cut_crop(rgb, cx, cy, side, size)
        framed = frame_as_pbc(rgb, cx, cy, side)
        out.append(((round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1)), crop, framed))
    return out


def source_cells(
    fields: Path, split: str, size: int, sources: Mapping[tuple[int, int], str] = SOURCES
) -> dict[str, list[tuple[str, Box, U8, U8]]]:
    """Every whole labelled white cell of the split's fields of the given ``sources``
    (image size -> source), by source: (name, box, classifier crop, PBC-framed image)."""
    labels_dir = fields / "labels" / split
    by_source: dict[str, list[tuple[str, Box, U8, U8]]] = {}
    for path in sorted((fields / "images" / split).glob("*.jpg")):
        rgb = load_rgb(path)
        source = sources.get((rgb.shape[1], rgb.shape[0]))
        if source is None:
            continue
        found = field_cells(rgb, labels_dir / f"{path.stem}.txt", size)
        for i, (box, crop, framed) in enumerate(found):
            by_source.setdefault(source, []).append((f"{path.stem}_{i}", box, crop, framed))
    return by_source


def write_domains(
    fields: Path, split: str, out: Path, sources: Mapping[tuple[int, int], str] = SOURCES
) -> dict[str, int]:
    """Every white cell of each non-PBC source, unlabelled, framed as PBC's images, into
    ``out/<source>/`` (``train classifier --domains``); how many per source."""
    counts = {}
    for source, items in sorted(source_cells(fields, split, SAVED_SIDE, sources).items()):
        folder = out / source
        folder.mkdir(parents=True, exist_ok=True)
        for name, _, _, framed in items:
            cv2.imwrite(str(folder / f"{name}.png"), framed[..., ::-1])
        write_source(
            folder,
            f"TXL-PBC (Gan & Li, arXiv:2407.13214, MIT licence), {source} fields of the "
            f"{split} split ({fields}): every whole labelled white cell, cut at its box with "
            "the crop rule, no class ('train pseudo-labels --domains-only')",
        )
        counts[source] = len(items)
    return counts


def teacher_probabilities(classifier: Classifier, crops: U8) -> tuple[np.ndarray, np.ndarray]:
    """Mean probabilities over four quarter turns, and the unfamiliar flag of the crop as
    given (both on crops already colour-calibrated)."""
    probs = np.zeros((len(crops), len(classifier.classes)))
    unfamiliar = np.zeros(len(crops), bool)
    for k in range(4):
        res = classifier.classify_crops(np.ascontiguousarray(np.rot90(crops, k, axes=(1, 2))))
        probs += res.probabilities / 4.0
        if k == 0:
            unfamiliar = np.array(
                [REASON_UNFAMILIAR in split_reasons(r) for r in res.review_reasons()]
            )
    return probs, unfamiliar


def make(
    model: Path, fields: Path, split: str, out: Path, min_confidence: float = 0.8
) -> list[PseudoCell]:
    classifier = Classifier(model, turns=1)  # teacher_probabilities turns the crops itself
    reference = ColourReference.from_card(classifier.card)
    if reference is None:
        raise SystemExit(f"{model.name}'s card has no colour_reference")
    by_source = source_cells(fields, split, classifier.input_size)
    cells: list[PseudoCell] = []
    for source, items in sorted(by_source.items()):
        crops = np.stack([c for _, _, c, _ in items])
        calibration = ColourCalibration.fit(crops, reference)
        probs, odd = teacher_probabilities(classifier, calibration.apply(crops))
        best = probs.argmax(1)
        for (name, box, _, framed), p, b, u in zip(items, probs, best, odd, strict=True):
            label = classifier.classes[b]
            kept = bool(p[b] >= min_confidence and not u)
            cells.append(PseudoCell(name, source, box, label, float(p[b]), bool(u), kept))
            if kept:
                folder = out / label
                folder.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(folder / f"{source}_{name}.png"), framed[..., ::-1])
        kept_n = sum(c.kept for c in cells if c.source == source)
        log.info("%s: %d white cells, %d kept", source, len(items), kept_n)
    (out / "pseudo.json").write_text(
        json.dumps(
            {
                "model": str(model),
                "fields": str(fields),
                "split": split,
                "min_confidence": min_confidence,
                "cells": [asdict(c) for c in cells],
            },
            indent=0,
        ),
        encoding="utf-8",
    )
    return cells
