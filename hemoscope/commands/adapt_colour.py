"""``hemoscope adapt --colour-only``: a microscope's profile, no labels needed.

    hemoscope adapt --colour-only --data FOLDER [--fields] [--no-neighbours] --out PROFILE
    hemoscope adapt --colour-only --db CASES.db [--no-neighbours] --out PROFILE

The white cells of every image under FOLDER (single-cell images, or fields with
``--fields``), or of every case in the database, signed off or not, as the classifier
frames them; `vision.colour_calibration` maps their pooled colours to the training
crops', and (unless ``--no-neighbours``) `vision.lab_neighbours` keeps them, seen through
that calibration, as the laboratory's own neighbours. The shipped head is unchanged.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hemoscope.commands.common import EXIT_FAILED, EXIT_OK, error, write_json

if TYPE_CHECKING:
    from hemoscope.vision.microscope_cells import Found


def adapt_colour(args: argparse.Namespace, pipeline: Any, out: Path, t0: float) -> int:
    from hemoscope.commands.progress import step_bar
    from hemoscope.vision.colour_calibration import CalibrationError
    from hemoscope.vision.lab_neighbours import MAX_BANK, MIN_BANK
    from hemoscope.vision.microscope_cells import colour_profile

    try:
        crops, skipped, found = _crops(args, pipeline)
        for line in skipped:
            sys.stderr.write(f"hemoscope: skipped {line}\n")
        neighbours = not args.no_neighbours
        measured = min(len(crops), MAX_BANK) if neighbours and len(crops) >= MIN_BANK else 0
        bar, step = step_bar(measured, "measuring cells", args.quiet or not measured)
        try:
            profile = colour_profile(
                pipeline,
                crops,
                name=args.name or out.name.split(".")[0],
                source=f"db: {args.db}" if args.db else f"data: {args.data}",
                neighbours=neighbours,
                progress=step,
            )
        finally:
            bar.close()
    except CalibrationError as exc:
        error(str(exc))
        return EXIT_FAILED
    calibration = profile.colour
    assert calibration is not None
    reference = calibration.reference
    sys.stdout.write(
        f"{found} white cells"
        + (f" (a random {len(crops)} of them used)" if found > len(crops) else "")
        + ". Colour calibration (R, G, B):\n"
        f"  this microscope: mean {_three(calibration.lab_mean)}  spread "
        f"{_three(calibration.lab_std)}\n"
        f"  training crops:  mean {_three(reference.mean)}  spread {_three(reference.std)}\n"
        f"  gains {_three(tuple(calibration.gains()), 2)}\n"
    )
    nb = profile.neighbours
    if nb is not None:
        sys.stdout.write(
            f"Neighbours: {nb.cells} of the cells, seen through the calibration. {nb.rule()}.\n"
        )
    elif neighbours:
        sys.stdout.write(f"No neighbours: {found} white cells, at least {MIN_BANK} are needed.\n")
    if profile.usual_unfamiliar is not None:
        sys.stdout.write(profile.usual_note() + "\n")
    if args.json:
        write_json(
            args.json,
            {"cells": found, "used": len(crops), "skipped": skipped,
             "colour": calibration.to_dict(),
             "neighbour_cells": nb.cells if nb is not None else 0,
             "usual_unfamiliar": (profile.usual_unfamiliar.to_dict()
                                  if profile.usual_unfamiliar is not None else None),
             "seconds": round(time.perf_counter() - t0, 2)},
        )  # fmt: skip
    try:
        saved = profile.save(out)
    except ValueError as exc:
        error(str(exc))
        return EXIT_FAILED
    sys.stdout.write(
        f"\nWrote {saved.kind} '{saved.name}' to {out} (sha256 {saved.sha256[:12]}, "
        f"{saved.cells} cells, {time.perf_counter() - t0:.1f} s). Use it with --lab {out}.\n"
    )
    return EXIT_OK


def _three(values: tuple[float, ...], digits: int = 1) -> str:
    return " ".join(f"{v:6.{digits}f}" for v in values)


def _crops(args: argparse.Namespace, pipeline: Any) -> Found:
    from hemoscope.vision import microscope_cells
    from hemoscope.vision.colour_calibration import CalibrationError

    if args.data is not None:
        if not Path(args.data).is_dir():
            raise CalibrationError(f"--data {args.data}: no such folder")
        return microscope_cells.from_folder(
            Path(args.data), "fields" if args.fields else "cells", pipeline
        )
    return _from_database(Path(args.db), pipeline.classifier)


def _from_database(db: Path, classifier: Any) -> Found:
    """The white cells of every case in ``db``, read one field at a time."""
    from hemoscope.commands.adapt import read_stored_fields
    from hemoscope.store.verified import white_cell_fields
    from hemoscope.vision import microscope_cells
    from hemoscope.vision.colour_calibration import CalibrationError

    return read_stored_fields(
        db,
        white_cell_fields,
        lambda fields: microscope_cells.from_fields(
            ((v.name, v.cells, v.field.cells, rgb) for v, rgb in fields), classifier
        ),
        CalibrationError,
    )
