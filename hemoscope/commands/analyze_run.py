"""The loop of ``hemoscope analyze``: list, read, analyse, stream out, sum up.

One image at a time is held in memory; each is converted to RGB in place (no second
copy), analysed, written to the streamed outputs and dropped. What stays is what the
case-level maths needs: each field with its white cells and platelets (its red cells,
most of its cells, are written out and dropped, keeping their number and the diameters
of the whole ones: `RedCells`), as the fields of one `Case`, from which the core
computes the differential, the smear estimates and the red-cell figures.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2

from hemoscope.capture.image_files import ImageReadError, list_images, read_image
from hemoscope.commands.analyze_output import (
    CELL_COLUMNS,
    SUMMARY_COLUMNS,
    CsvStream,
    JsonStream,
    OutputFile,
    json_head,
    printable_path,
    write_stdout,
)
from hemoscope.commands.analyze_report import (
    case_flags,
    cell_row,
    differential_json,
    estimates_json,
    field_counts,
    flags_json,
    red_cells_json,
    summary_rows,
    table,
    unusual_json,
)
from hemoscope.commands.common import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, error, model_info
from hemoscope.commands.progress import Progress
from hemoscope.core import (
    Case,
    CaseInfo,
    CellKind,
    Field,
    RedCellSummary,
    Tally,
    Taxonomy,
    field_red_cells,
)
from hemoscope.core.overlap import RECENT_FIELDS, Thumbnail, mark_field, thumbnail
from hemoscope.vision.model_card import ModelError
from hemoscope.vision.pipeline import Pipeline
from hemoscope.vision.unfamiliar import STANDARD

log = logging.getLogger(__name__)

PROGRESS_MIN_FILES = 4
"""A progress bar is shown on stderr for this many files or more."""


@dataclass
class Options:
    paths: list[Path]
    recursive: bool = False
    outputs: dict[str, Path] = field(default_factory=dict)
    pdf: Path | None = None
    target: int = 100
    platelet_factor: float = 15_000.0
    wbc_factor: float | None = None
    max_pixels: int = 40_000_000
    rbc_diameter: float | None = None
    um_per_px: float | None = None  # the camera's scale (stage micrometer); None: not known
    detector: Path | None = None
    classifier: Path | None = None
    profile: Path | None = None  # laboratory profile (`vision.lab_profile`)
    sensitivity: str = STANDARD  # review sensitivity to unfamiliar cells
    threads: int | None = None
    progress: bool = True
    count_all: bool = False  # True: no overlap or edge rule (every white cell found counts)


def exit_status(n_ok: int, n_failed: int) -> int:
    if n_ok == 0:
        return EXIT_FAILED
    return EXIT_PARTIAL if n_failed else EXIT_OK


def names(paths: Sequence[Path]) -> str:
    shown = ", ".join(printable_path(p) for p in paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


NO_IMAGES = "no image files in this folder"


def expand(paths: list[Path], recursive: bool) -> list[tuple[Path, str]]:
    """``(path, "")`` for each file to analyse, ``(folder, reason)`` for a folder without
    image files (so that every input named is accounted for); duplicates dropped."""
    entries: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for path in paths:
        found = list_images([path], recursive=recursive)
        if path.is_dir() and not found:
            found = [path]
        for f in found:
            key = f.absolute()
            if key not in seen:
                seen.add(key)
                entries.append((f, _no_images(f, recursive) if f.is_dir() else ""))
    return entries


def _no_images(folder: Path, recursive: bool) -> str:
    try:
        has_sub = not recursive and any(p.is_dir() for p in folder.iterdir())
    except OSError as exc:
        return f"cannot list this folder: {exc.strerror or exc}"
    return NO_IMAGES + (" (sub-folders are searched with --recursive)" if has_sub else "")


def analyze_file(
    pipeline: Pipeline, path: Path, max_pixels: int, register: bool = True
) -> tuple[Field | None, str, Thumbnail | None]:
    """The field of one image file and, with ``register``, its registration thumbnail
    (`core.overlap`), or ``None`` and the reason it failed."""
    try:
        image = read_image(path, max_pixels=max_pixels)
    except ImageReadError as exc:
        return None, exc.reason, None
    except MemoryError:
        return None, "not enough memory to decode this image", None
    try:
        cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=image)  # our own copy: convert in place
        fld = pipeline.analyze(image, "rgb", source=printable_path(path))
        return fld, "", thumbnail(image) if register else None
    except MemoryError:
        return None, "not enough memory to analyse this image", None
    except Exception as exc:  # one bad frame must not end the batch
        log.debug("analysis of %s failed", path, exc_info=True)
        return None, f"analysis failed: {exc}", None


@dataclass
class RedCells:
    """What the red-cell figures need of each field analysed, kept as the fields go by."""

    per_field: list[int] = field(default_factory=list)
    diameters: list[float] = field(default_factory=list)
    imaged_px: float = 0.0

    def add(self, fld: Field, taxonomy: Taxonomy) -> None:
        n, d = field_red_cells(fld, taxonomy)
        self.per_field.append(n)
        self.diameters.extend(float(x) for x in d)
        self.imaged_px += float(fld.width) * float(fld.height)

    def summary(self, um_per_px: float | None) -> RedCellSummary:
        return RedCellSummary(
            tuple(self.per_field), tuple(self.diameters), self.imaged_px, um_per_px or None
        )


def without_red_cells(fld: Field) -> Field:
    """The field as the differential and estimates need it: red cells are only counted."""
    return replace(fld, cells=tuple(c for c in fld.cells if c.kind is not CellKind.RBC))


def image_json(path: Path, fld: Field | None, reason: str) -> dict[str, Any]:
    if fld is None:
        return {
            "file": printable_path(path),
            "width": None,
            "height": None,
            "status": "error",
            "error": reason,
            "cells": [],
            "counts": None,
        }
    return {
        "file": fld.source,
        "width": fld.width,
        "height": fld.height,
        "status": "ok",
        "error": None,
        "cells": [cell_row(c) for c in fld.cells],
        "counts": field_counts(fld),
    }


def csv_rows(image: dict[str, Any]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for i, cell in enumerate(image["cells"]):
        x1, y1, x2, y2 = cell["box"]
        rows.append(
            {"file": image["file"], "cell": i, **cell, "x1": x1, "y1": y1, "x2": x2, "y2": y2}
        )
    return rows


def open_outputs(options: Options) -> dict[str, OutputFile]:
    opened: dict[str, OutputFile] = {}
    try:
        for opt, path in options.outputs.items():
            if opt == "json":
                opened[opt] = JsonStream(path, json_head())
            elif opt == "csv":
                opened[opt] = CsvStream(path, CELL_COLUMNS)
            else:
                opened[opt] = CsvStream(path, SUMMARY_COLUMNS)
    except OSError as exc:
        for out in opened.values():
            out.abort()
        raise OSError(
            f"cannot write --{opt} {printable_path(path)}: {exc.strerror or exc}"
        ) from exc
    return opened


def run(options: Options, pipeline: Pipeline | None = None) -> int:
    """Analyse, write the outputs and the table; the exit status.

    ``pipeline`` replaces the models named in ``options`` (a benchmark times the run
    without the one-off model loading).
    """
    files = expand(options.paths, options.recursive)
    if all(reason for _, reason in files):
        error(f"no image files found in {names(options.paths)}")
        return EXIT_FAILED
    if pipeline is None:
        try:
            pipeline = Pipeline.load(
                options.detector,
                options.classifier,
                threads=options.threads,
                rbc_diameter=options.rbc_diameter,
                profile=options.profile,
                sensitivity=options.sensitivity,
            )
        except ModelError as exc:
            error(str(exc))
            return EXIT_FAILED
    try:
        outputs = open_outputs(options)
    except OSError as exc:
        error(str(exc))
        return EXIT_FAILED
    try:
        red = RedCells()
        fields, n_failed = _process(pipeline, files, options, outputs, red)
        report_ok = _finish(pipeline, fields, n_failed, options, outputs, red)
    except BaseException:
        for out in outputs.values():
            out.abort()
        raise
    return exit_status(len(fields), n_failed) if report_ok else EXIT_FAILED


def _process(
    pipeline: Pipeline,
    files: list[tuple[Path, str]],
    options: Options,
    outputs: dict[str, OutputFile],
    red: RedCells,
) -> tuple[list[Field], int]:
    fields: list[Field] = []
    n_failed = 0
    show = options.progress and len(files) >= PROGRESS_MIN_FILES
    progress = Progress(len(files), label="analysing", enabled=show)
    json_out = outputs.get("json")
    csv_out = outputs.get("csv")
    earlier: list[tuple[Field, Thumbnail]] = []
    for path, known_error in files:
        if known_error:
            fld, reason, thumb = None, known_error, None
        else:
            fld, reason, thumb = analyze_file(
                pipeline, path, options.max_pixels, register=not options.count_all
            )
        if fld is not None and thumb is not None and not options.count_all:
            # The station's rules: a white cell seen in an earlier image of the run, or
            # cut by the image's edge, is listed but not counted (`core.overlap`).
            fld = mark_field(fld, thumb, earlier[-RECENT_FIELDS:])
            earlier = [*earlier[-RECENT_FIELDS + 1 :], (fld, thumb)]
        if fld is None:
            n_failed += 1
            progress.message(f"hemoscope: {printable_path(path)}: {reason}")
        image = image_json(path, fld, reason)
        if fld is not None:
            red.add(fld, pipeline.taxonomy)
            fields.append(without_red_cells(fld))
        if isinstance(json_out, JsonStream):
            json_out.add_image(image)
        if isinstance(csv_out, CsvStream):
            csv_out.add_rows(csv_rows(image))
        progress.advance(failed=fld is None)
    progress.close()
    return fields, n_failed


def _finish(
    pipeline: Pipeline,
    fields: list[Field],
    n_failed: int,
    options: Options,
    outputs: dict[str, OutputFile],
    red: RedCells,
) -> bool:
    """Write the case-level outputs; False when the PDF report could not be written."""
    case = Case(CaseInfo(sample_id="analyze"), tuple(fields))
    tally = Tally.from_case(case, pipeline.taxonomy, target=options.target)
    estimates = estimates_json(
        case,
        tally,
        platelet_factor=options.platelet_factor,
        wbc_factor=options.wbc_factor,
        taxonomy=pipeline.taxonomy,
    )
    red_cells = red.summary(options.um_per_px)
    red_json = red_cells_json(red_cells)
    flags = case_flags(case)
    cards = pipeline.model_cards()
    sensitivity = getattr(pipeline, "sensitivity", STANDARD)  # fakes in tests have none
    tail = {
        "files": {"total": len(fields) + n_failed, "ok": len(fields), "failed": n_failed},
        "differential": differential_json(tally),
        "flagged": flags_json(flags),
        "estimates": estimates,
        "red_cells": red_json,
        "models": {name: model_info(card) for name, card in cards.items()},
        "review_threshold": pipeline.review_threshold,
        "review_sensitivity": sensitivity,
    }
    unusual_case = unusual_json(case, pipeline, sensitivity)
    if unusual_case is not None:
        tail["unusual_for_microscope"] = unusual_case
    for opt, out in outputs.items():
        if isinstance(out, JsonStream):
            out.finish(tail)
        elif opt == "summary" and isinstance(out, CsvStream):
            out.add_rows(summary_rows(tally))
            out.commit()
        else:
            out.commit()
    if not fields:
        error(f"none of the {n_failed} files could be analysed")
        return True
    uncounted = Counter(c.uncounted for _, c in case.iter_cells() if c.uncounted)
    write_stdout(table(tally, estimates, len(fields), n_failed, flags, red_json, dict(uncounted)))
    if sensitivity != STANDARD:
        write_stdout(f"unfamiliar cells flagged at review sensitivity {sensitivity}\n")
    if unusual_case is not None and unusual_case["unusual"]:
        write_stdout(
            f"far more white cells unfamiliar than usual on this microscope "
            f"({unusual_case['unfamiliar']} of {unusual_case['classified']}; usually "
            f"{unusual_case['usual_share']:.0%}): blasts or other abnormal cells may be "
            "present, or the smear is stained or focused unlike the usual ones; review "
            "them, and analyse with --sensitivity high\n"
        )
    return options.pdf is None or _write_pdf(case, pipeline, options, red_cells)


def _write_pdf(case: Case, pipeline: Pipeline, options: Options, red: RedCellSummary) -> bool:
    """The same differential report the station prints, written headless."""
    from hemoscope.report import ExportError, ReportSettings, SoftwareInfo, write_pdf

    assert options.pdf is not None
    models = pipeline.stamps  # the models every field records
    settings = ReportSettings(
        software=SoftwareInfo(models=models),
        taxonomy=pipeline.taxonomy,
        target=options.target,
        platelet_factor=options.platelet_factor,
        wbc_factor=options.wbc_factor,
        um_per_px=options.um_per_px,
        red_cells=red,  # the case's fields no longer hold their red cells
    )
    try:
        write_pdf(case, options.pdf, settings)
    except (ExportError, RuntimeError) as exc:
        error(f"the PDF report could not be written: {exc}")
        return False
    return True
