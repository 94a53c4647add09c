"""A microscope's white cells without labels, as the classifier frames them: what its
colour calibration (`vision.colour_calibration`) and its neighbourhood
(`vision.lab_neighbours`) are fitted on.

From a folder (every image under it, sub-folders included: single-cell images framed as
``hemoscope classify`` frames them, or fields whose white cells the pipeline finds), or
from the fields of a case database (`store.verified.white_cell_fields`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from hemoscope.core import Cell, CellKind
from hemoscope.vision.colour_calibration import (
    CalibrationError,
    ColourCalibration,
    ColourReference,
)
from hemoscope.vision.datasets import IMAGE_SUFFIXES, load_rgb
from hemoscope.vision.lab_cells import field_crops
from hemoscope.vision.lab_neighbours import MIN_BANK, Neighbourhood, bank_sample
from hemoscope.vision.lab_profile import LabProfile, UsualUnfamiliar, colour_view_of
from hemoscope.vision.model_card import descriptor_size

U8 = npt.NDArray[np.uint8]
Progress = Callable[[int, int], None]

MAX_CROPS = 4000
"""Most crops kept for a calibration: beyond, a random sample of the white cells found
(about 200 MB of crops; a year of a laboratory's cases would not fit in memory)."""


class Found(NamedTuple):
    crops: U8  # at most `MAX_CROPS`, a random sample of the white cells found
    skipped: list[str]  # images or fields that gave no crops, and why
    cells: int  # white cells found


class _Sample:
    """A uniform random sample of at most ``limit`` crops of a stream (Vitter's
    reservoir, algorithm R), the same for the same stream."""

    def __init__(self, limit: int | None = None, seed: int = 0) -> None:
        self.limit = MAX_CROPS if limit is None else limit
        self.items: list[U8] = []
        self.seen = 0
        self._rng = np.random.default_rng(seed)

    def add(self, crops: Iterable[U8]) -> None:
        for crop in crops:
            self.seen += 1
            if len(self.items) < self.limit:
                self.items.append(np.array(crop))  # a copy: not a view of a field's array
            else:
                j = int(self._rng.integers(0, self.seen))
                if j < self.limit:
                    self.items[j] = np.array(crop)


def image_paths(root: Path) -> list[Path]:
    """Every image file under ``root`` (sub-folders included), sorted."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def from_folder(
    root: Path,
    kind: Literal["cells", "fields"],
    pipeline: Any,
    progress: Progress | None = None,
) -> Found:
    """The white-cell crops of every image under ``root`` and what was skipped (why)."""
    return from_paths(image_paths(root), kind, pipeline, progress)


def from_paths(
    paths: Sequence[Path],
    kind: Literal["cells", "fields"],
    pipeline: Any,
    progress: Progress | None = None,
) -> Found:
    """The white-cell crops of the images ``paths`` and what was skipped (why)."""
    from hemoscope.vision.single_cell import frame_single_cell

    clf = pipeline.classifier
    crops = _Sample()
    skipped: list[str] = []
    for i, path in enumerate(paths):
        try:
            rgb = load_rgb(path)
        except (OSError, ValueError) as exc:
            skipped.append(f"{path}: cannot be read ({exc})")
            continue
        if kind == "cells":
            crop, _ = frame_single_cell(
                rgb, clf.input_size, clf.crop_scale, pipeline.detector, "rgb"
            )
            crops.add([crop])
        else:
            fld = pipeline.analyze(rgb, "rgb", source=path.name)
            white = [c for c in fld.cells if c.kind is CellKind.WBC]
            if white:
                crops.add(field_crops(clf, rgb, white, fld.cells))
            else:
                skipped.append(f"{path}: no white cell found")
        if progress:
            progress(i + 1, len(paths))
    return Found(_stack(crops.items, clf.input_size), skipped, crops.seen)


def from_fields(
    fields: Iterable[tuple[str, Sequence[Cell], Sequence[Cell], U8 | None]],
    classifier: Any,
) -> Found:
    """Crops of stored fields' white cells: each item is (a name for messages, the white
    cells, all the field's cells, its RGB image or None when missing)."""
    crops = _Sample()
    skipped: list[str] = []
    for name, white, all_cells, rgb in fields:
        if rgb is None:
            skipped.append(f"{name}: the field's image is missing ({len(white)} cells)")
            continue
        crops.add(field_crops(classifier, rgb, white, all_cells))
    return Found(_stack(crops.items, classifier.input_size), skipped, crops.seen)


def colour_profile(
    pipeline: Any,
    crops: U8,
    name: str,
    source: str = "",
    *,
    neighbours: bool = True,
    progress: Progress | None = None,
) -> LabProfile:
    """A laboratory profile of the microscope that took ``crops``, labels unused: its
    colour calibration and, from at least `lab_neighbours.MIN_BANK` crops (at most
    `lab_neighbours.MAX_BANK` of them, each seen through the calibration as the station
    will see cells), the share of them flagged unfamiliar (`LabProfile.usual_unfamiliar`)
    and, with ``neighbours``, the crops as the laboratory's own neighbours
    (`vision.lab_neighbours`). Raises `CalibrationError` when the classifier's card has no colour
    reference or the crops are too few. ``progress(done, total)``: cells measured."""
    clf = pipeline.classifier
    reference = ColourReference.from_card(clf.card)
    if reference is None:
        raise CalibrationError(f"{clf.path.name}: its card has no colour_reference")
    calibration = ColourCalibration.fit(crops, reference)
    profile = LabProfile.unlabelled(
        colour=calibration,
        classes=tuple(clf.classes),
        embedding_size=descriptor_width(clf, crops),
        base_temperature=float(clf.temperature),
        models=pipeline.model_cards(),
        name=name,
        source=source,
        colour_view=colour_view_of(clf.card),
    )
    if len(crops) < MIN_BANK:
        return profile
    bank = crops[bank_sample(len(crops))]
    logits, descriptors, unfamiliar = [], [], []
    step = 64
    for s in range(0, len(bank), step):
        lg, de, odd = clf.seen_and_flagged(bank[s : s + step], profile)
        logits.append(lg)
        descriptors.append(de)
        unfamiliar.append(odd)
        if progress:
            progress(min(s + step, len(bank)), len(bank))
    # How often this microscope's ordinary cells are flagged unfamiliar: what its cases
    # are compared with (`core.unusual`).
    usual = UsualUnfamiliar(float(np.concatenate(unfamiliar).mean()), len(bank))
    profile = replace(profile, usual_unfamiliar=usual)
    if not neighbours:
        return profile
    desc = np.concatenate(descriptors)
    own = profile.probabilities(np.concatenate(logits), desc)
    return replace(profile, neighbours=Neighbourhood.fit(desc, own))


def descriptor_width(classifier: Any, crops: U8) -> int:
    """The width of the classifier's descriptors (what a profile's head correction reads,
    `Classifier.logits_and_descriptor`): the classifier's own, else its card's
    ``outputs``, else by running the model on one crop."""
    size = getattr(classifier, "descriptor_size", 0) or descriptor_size(
        getattr(classifier, "card", {})
    )
    if size > 0:
        return size
    run = getattr(classifier, "logits_and_descriptor", None) or classifier.logits_and_embedding
    _, emb = run(crops[:1])
    return int(emb.shape[1])


def _stack(crops: list[U8], size: int) -> U8:
    if not crops:
        return np.zeros((0, size, size, 3), np.uint8)
    return np.stack(crops)
