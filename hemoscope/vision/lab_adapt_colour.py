"""A labelled laboratory profile with or without the microscope's colour calibration:
both fitted, the better kept by cross-validation on the laboratory's own cells.

The colour calibration (`vision.colour_calibration`) maps the microscope's pooled crop
colours to the training crops'; the head refit (`vision.lab_adapt.adapt`) then learns on
the embeddings the classifier makes of the cells with it (the camera's and the calibrated
crop averaged, `vision.classifier.colour_average`). Whether that beats the refit on the
camera's own colours depends on the laboratory: with the calibrated crop alone, on
bionet it did (25 / 100 labelled cells: 88.9 / 95.6 % on the rest of the laboratory
instead of 86.4 / 93.7 %), on jiangxi it did not (81.7 / 86.2 % instead of 83.0 /
89.0 %; `benchmarks/bench_adapt.py`). So `adapt_cells` fits both and keeps the
calibrated one only when its cross-validated accuracy on the given cells is higher; a
tie keeps the simpler profile without calibration. The choice, and both variants'
figures, are recorded in the profile's validation.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hemoscope.vision.colour_calibration import (
    MIN_CELLS,
    ColourCalibration,
    ColourReference,
)
from hemoscope.vision.lab_adapt import Adaptation


def calibration_for(classifier: Any, crops: Any) -> ColourCalibration | None:
    """The colour calibration of the cells' microscope, or None when the classifier's
    card has no colour reference or the cells are too few."""
    reference = ColourReference.from_card(getattr(classifier, "card", {}) or {})
    if reference is None or len(crops) < MIN_CELLS:
        return None
    return ColourCalibration.fit(crops, reference)


def better(
    raw: Adaptation, calibrated: Adaptation, colour: ColourCalibration, view: str = "average"
) -> Adaptation:
    """The adaptation to keep. Both are measured on the same cells against the shipped
    model on the camera's colours (``raw.before``); ``calibrated`` was fitted on the cells
    seen through ``colour`` as ``view`` says (`vision.classifier.seen_through`)."""
    variants = {
        "camera colours": cross_validated(raw),
        "colour calibrated": cross_validated(calibrated),
    }
    chosen_calibrated = calibrated.after.accuracy > raw.after.accuracy
    keep = calibrated if chosen_calibrated else raw
    validation = dict(keep.profile.validation)
    validation["shipped"] = raw.before.as_dict()
    validation["variants"] = variants
    validation["chosen"] = "colour calibrated" if chosen_calibrated else "camera colours"
    profile = replace(
        keep.profile,
        colour=colour if chosen_calibrated else None,
        colour_view=view,
        validation=validation,
    )
    return replace(keep, profile=profile, before=raw.before, extra={**keep.extra, **variants})


def cross_validated(a: Adaptation) -> dict[str, float]:
    """An adaptation's cross-validated accuracy and balanced accuracy, as recorded."""
    return {
        "accuracy": round(a.after.accuracy, 4),
        "balanced_accuracy": round(a.after.balanced_accuracy, 4),
    }
