"""The spread of each descriptor dimension over the training crops, written into the
classifier's card: the natural unit in which a laboratory profile's head correction is
penalised (`vision.lab_adapt`).

    python -m hemoscope.training descriptor-spread --model models/classifier.onnx \
        --data ../shared/data/pbc

Every image of the card's training split (seeded stratified split, as training draws
it), framed by the training crop rule without augmentation, through the exported
classifier as the station runs it (ONNX Runtime, the card's turns): the standard
deviation of each dimension of its descriptor (the embedding followed by the pooled
middle stages, `training.descriptor`). Labels are not used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hemoscope.training.card_entry import write_card_entry
from hemoscope.training.colour_reference import split_crops

WHAT = (
    "standard deviation of each dimension of the classifier's descriptor (embedding, then "
    "the pooled middle stages) over the training split's crops (training crop rule, no "
    "augmentation, labels unused); a laboratory profile's head correction is fitted on "
    "descriptors divided by these, so its penalty weighs every dimension in its own unit "
    "(vision.lab_adapt)"
)


def descriptor_spread(
    model: Path, data: Path, seed: int, val_fraction: float, command: str
) -> dict[str, Any]:
    """Measure the spread and write it into the model's card (``descriptor_spread``)."""
    from hemoscope.vision.classifier import Classifier

    crops = split_crops(data, seed, val_fraction, "train")
    clf = Classifier(model)
    rows = []
    for s in range(0, len(crops), 64):
        rows.append(np.asarray(clf.logits_and_descriptor(crops[s : s + 64])[1], np.float64))
    descriptors = np.concatenate(rows)
    spread = descriptors.std(axis=0)
    if not np.isfinite(spread).all() or float(spread.max()) <= 0:
        raise ValueError("the classifier's descriptor does not vary over the training crops")
    entry = {
        "what": WHAT,
        "values": [float(f"{v:.5g}") for v in spread],
        "cells": len(crops),
        "turns": clf.turns,
        "command": command,
    }
    write_card_entry(model, "descriptor_spread", entry)
    return entry
