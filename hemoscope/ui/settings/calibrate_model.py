"""Settings ▸ Models ▸ "Calibrate colours to this microscope…" without Qt: the work the
calibrate dialog runs on its thread, and what it shows of the result.

`run_calibration` loads the shipped models (a pipeline of its own), takes the white
cells of every case in the station's case database, signed off or not
(`store.verified.white_cell_fields`; no labels needed), frames them as the classifier
does (`vision.microscope_cells`), fits the colour calibration
(`vision.colour_calibration`), keeps the cells as the laboratory's own neighbours
(`vision.lab_neighbours`) and makes a laboratory profile of both, with the shipped head
(`microscope_cells.colour_profile`): what ``hemoscope adapt --colour-only --db`` does,
one field at a time with progress. An accepted profile is kept like an adapted one
(`adapt_model.save_profile`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hemoscope.ui.settings.adapt_model import Progress
from hemoscope.vision.colour_calibration import (
    MIN_CELLS,
    CalibrationError,
    ColourCalibration,
    ColourReference,
)
from hemoscope.vision.lab_profile import LabProfile, ProfileError
from hemoscope.vision.microscope_cells import Found, colour_profile

__all__ = [
    "CalibrationOutcome",
    "card_problem",
    "hex_colour",
    "run_calibration",
]

log = logging.getLogger(__name__)


@dataclass
class CalibrationOutcome:
    profile: LabProfile | None = None  # colour calibration and neighbours, not saved yet
    cells: int = 0  # white cells found in the case database
    cases: int = 0
    skipped: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def calibration(self) -> ColourCalibration | None:
        return self.profile.colour if self.profile is not None else None


def card_problem(card: Mapping[str, Any] | None) -> str:
    """Why the classifier with this card cannot be calibrated ("" when it can)."""
    if not card:
        return ""  # the models are not loaded yet: the work will tell
    try:
        if ColourReference.from_card(card) is None:
            return (
                f"The classifier {card.get('name', '')} {card.get('version', '')} has no "
                "colour reference of its training crops, so there is nothing to calibrate to."
            )
    except CalibrationError as exc:
        return str(exc)
    return ""


def run_calibration(
    db_path: Path, load_pipeline: Callable[[], Any], progress: Progress
) -> CalibrationOutcome:
    """Load the shipped models, read the white cells of every case, fit the calibration."""
    from hemoscope.store import CaseStore, StoreError

    out = CalibrationOutcome()
    try:
        if not db_path.is_file():
            raise CalibrationError(f"there is no case database at {db_path}")
        progress("Loading the models…", 0, 0)
        pipeline = load_pipeline()
        clf = pipeline.classifier
        reference = ColourReference.from_card(clf.card)
        if reference is None:
            raise CalibrationError(card_problem(clf.card))
        with CaseStore.open(db_path) as store:
            crops, out.skipped, out.cells = _white_cells(store, clf, out, progress)
        if out.cells < MIN_CELLS:
            raise CalibrationError(
                f"the case database holds {out.cells} white cell(s) with their images; a "
                f"colour calibration needs at least {MIN_CELLS}. Capture more fields first."
            )
        progress("Fitting the calibration…", 0, 0)
        out.profile = colour_profile(
            pipeline,
            crops,
            "this microscope",
            f"db: {db_path}",
            progress=lambda done, total: progress("Measuring the cells…", done, total),
        )
    except (CalibrationError, StoreError, ProfileError, OSError) as exc:
        out.error = str(exc)
    except Exception as exc:  # a model failure must reach the dialog, not kill the thread
        log.exception("colour calibration failed")
        out.error = f"the calibration failed: {exc}"
    return out


def _white_cells(store: Any, classifier: Any, out: CalibrationOutcome, progress: Progress) -> Found:
    """The crops of every stored field's white cells (a random sample of at most
    `microscope_cells.MAX_CROPS`), read one field at a time."""
    from hemoscope.store.verified import white_cell_fields
    from hemoscope.vision import microscope_cells
    from hemoscope.vision.image_input import to_rgb

    total = len(store.list_cases(limit=None))
    cases: set[str] = set()

    def items() -> Iterator[tuple[str, Any, Any, Any]]:
        progress("Reading the white cells of the cases…", 0, total)
        for v in white_cell_fields(store):
            cases.add(v.case_id)
            yield v.name, v.cells, v.field.cells, None if v.image is None else to_rgb(v.image)
            progress("Reading the white cells of the cases…", len(cases), total)

    found = microscope_cells.from_fields(items(), classifier)
    out.cases = len(cases)
    return found


def hex_colour(rgb: tuple[float, float, float]) -> str:
    """``#rrggbb`` of an RGB mean (0-255)."""
    r, g, b = (int(np.clip(round(v), 0, 255)) for v in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"
