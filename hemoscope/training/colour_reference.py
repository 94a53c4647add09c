"""The training crops' pooled colour statistics, written into a classifier card.

    python -m hemoscope.training colour-reference --model models/classifier.onnx \
        --data ../shared/data/pbc

Every image of the card's training split (seeded stratified split, as training draws
it), framed by the training crop rule without augmentation, pooled per RGB channel: the
reference a microscope's colour calibration maps to (`vision.colour_calibration`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hemoscope.training.card_entry import write_card_entry
from hemoscope.training.classifier_model import INPUT_SIZE
from hemoscope.training.pbc_data import list_samples, load_rgb, stratified_split
from hemoscope.vision.colour_calibration import pooled_stats
from hemoscope.vision.crops import cut_crop


def colour_reference(
    model: Path, data: Path, seed: int, val_fraction: float, command: str
) -> dict[str, Any]:
    crops = split_crops(data, seed, val_fraction, "train")
    mean, std = pooled_stats(crops)
    entry = {
        "mean": [round(float(v), 3) for v in mean],
        "std": [round(float(v), 3) for v in std],
        "cells": len(crops),
        "what": "per-channel RGB mean and standard deviation of every pixel of the training "
        "split's crops (training crop rule, no augmentation); a microscope's colour "
        "calibration maps its own crops' statistics to these (vision.colour_calibration)",
        "command": command,
    }
    write_card_entry(model, "colour_reference", entry)
    return entry


def split_crops(data: Path, seed: int, val_fraction: float, part: str) -> npt.NDArray[np.uint8]:
    """The crops of one part (``train`` or ``val``) of a training split (seeded,
    stratified, as training draws it), framed by the training crop rule without
    augmentation."""
    from hemoscope.training.train_classifier import CLASSES

    samples, _ = list_samples(data, CLASSES)
    train_s, val_s = stratified_split(samples, val_fraction, seed)
    return nominal_crops([s.path for s in (train_s if part == "train" else val_s)])


def nominal_crops(paths: Sequence[Path]) -> npt.NDArray[np.uint8]:
    """Single-cell images framed by the training crop rule, without augmentation."""
    from hemoscope.training.train_classifier import nominal_geometry

    crops = np.empty((len(paths), INPUT_SIZE, INPUT_SIZE, 3), np.uint8)
    for i, path in enumerate(paths):
        img = load_rgb(path)
        cx, cy, side = nominal_geometry(img)
        crops[i] = cut_crop(img, cx, cy, side, INPUT_SIZE)
    return crops
