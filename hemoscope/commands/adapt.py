"""``hemoscope adapt``: a laboratory profile from that laboratory's own labelled cells.

    hemoscope adapt --data IMAGEFOLDER [--fields] --out PROFILE
    hemoscope adapt --db CASES.db --out PROFILE
    hemoscope adapt --colour-only --data FOLDER [--fields] | --db CASES.db --out PROFILE

The cells (an ImageFolder of single-cell images, or of fields with one white cell near
the centre with ``--fields``; or every human-verified cell of the signed-off cases in a
case database) go through the shipped classifier once; `vision.lab_adapt` refits its
head on them, measures the profile by cross-validation against the shipped model and
prints before/after per class. A profile worse than the shipped model on those cells is
not written (exit status 1, and why). No PyTorch: numpy on the CPU. ``--colour-only``
needs no labels: it calibrates the microscope's colours and keeps its white cells as the
laboratory's own neighbours (`commands.adapt_colour`).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from hemoscope.commands.common import EXIT_FAILED, EXIT_OK, error, write_json
from hemoscope.commands.progress import step_bar

R = TypeVar("R")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "adapt",
        help="fit a laboratory profile on the laboratory's own labelled cells",
        description="Refits the classifier's head on one laboratory's labelled white cells "
        "(an ImageFolder, or the verified cells of signed-off cases in a case database), "
        "measures it by cross-validation against the shipped model and writes the profile "
        "only when it is not worse. Use it with classify/analyze --lab PROFILE or in the "
        "station (Settings ▸ Models).",
        epilog="Exit status: 0 profile written, 1 bad input or a profile worse than the "
        "shipped model (nothing written).",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", type=Path, metavar="FOLDER", help="ImageFolder of labelled cells")
    src.add_argument("--db", type=Path, metavar="FILE", help="case database (hemoscope-cases.db)")
    p.add_argument("--out", type=Path, required=True, metavar="PROFILE", help="profile to write")
    p.add_argument(
        "--fields",
        action="store_true",
        help="--data holds fields with one labelled white cell near the centre (default: "
        "single-cell images)",
    )
    p.add_argument(
        "--colour-only",
        action="store_true",
        help="no labels: calibrate the microscope's colours from its white cells (every "
        "image under --data, or every case in --db), keep them as the laboratory's own "
        "neighbours, and keep the shipped head",
    )
    p.add_argument(
        "--no-neighbours",
        action="store_true",
        help="with --colour-only: the colour calibration alone, without the neighbours",
    )
    p.add_argument("--name", help="the profile's name (default: the file name)")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the validation here")
    p.add_argument("--model", type=Path, help="classifier ONNX file (default: the shipped one)")
    p.add_argument("--detector", type=Path, help="detector ONNX file (default: the shipped one)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=0, help="seed of the cross-validation folds")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=adapt)


def adapt(args: argparse.Namespace) -> int:

    from hemoscope.vision.lab_adapt import AdaptError, adapt_cells
    from hemoscope.vision.lab_embed import views_for
    from hemoscope.vision.model_card import ModelError
    from hemoscope.vision.pipeline import Pipeline

    t0 = time.perf_counter()
    out = Path(args.out)
    if out.is_dir() or not out.parent.is_dir():
        error(f"--out {out}: give a file name in an existing folder")
        return EXIT_FAILED
    if args.no_neighbours and not args.colour_only:
        error("--no-neighbours goes with --colour-only (a labelled profile has no neighbours)")
        return EXIT_FAILED
    try:
        pipeline = Pipeline.load(args.detector, args.model, threads=args.threads)
    except ModelError as exc:
        error(str(exc))
        return EXIT_FAILED
    if args.colour_only:
        from hemoscope.commands.adapt_colour import adapt_colour

        return adapt_colour(args, pipeline, out, t0)
    clf = pipeline.classifier
    try:
        cells = collect(args, pipeline)
        for line in cells.skipped:
            sys.stderr.write(f"hemoscope: skipped {line}\n")
        counts = cells.counts()
        sys.stdout.write(
            f"{len(cells)} labelled cells: "
            + ", ".join(f"{c} {n}" for c, n in sorted(counts.items(), key=lambda kv: -kv[1]))
            + "\n"
        )
        bar, step = step_bar(len(cells) * views_for(len(cells)), "measuring cells", args.quiet)
        bars = [bar]

        def fitting(done: int, total: int) -> None:
            if len(bars) == 1:  # the embedding is done: the folds, then the final fit
                bars[0].close()
                bars.append(step_bar(6, "fitting", args.quiet)[0])
            while bars[1].done < done:
                bars[1].advance()

        result = adapt_cells(
            clf,
            cells,
            models=pipeline.model_cards(),
            name=args.name or out.name.split(".")[0],
            source=f"db: {args.db}" if args.db else f"data: {args.data}",
            seed=args.seed,
            embed_progress=step,
            fit_progress=fitting,
        )
        bars[-1].close()
    except AdaptError as exc:
        error(str(exc))
        return EXIT_FAILED
    sys.stdout.write(f"\nBefore (shipped model) and after (profile), {result.method}:\n")
    sys.stdout.write(result.table() + "\n")
    variants = result.profile.validation.get("variants")
    if variants:
        figures = ", ".join(f"{k} {v['accuracy']:.1%}" for k, v in variants.items())
        sys.stdout.write(
            f"Fitted on the camera's colours and through the microscope's colour calibration "
            f"({figures}, cross-validated); kept: {result.profile.validation['chosen']}.\n"
        )
    for note in (result.profile.review_note(), result.profile.usual_note()):
        if note:
            sys.stdout.write(note + "\n")
    refusal = result.refusal
    if args.json:
        report = {
            "cells": len(cells),
            "cells_per_class": counts,
            "skipped": cells.skipped,
            "validation": result.profile.validation,
            "refused": refusal,
            "seconds": round(time.perf_counter() - t0, 2),
        }
        write_json(args.json, report)
    if refusal:
        error(f"no profile written: {refusal}")
        return EXIT_FAILED
    saved = result.profile.save(out)
    sys.stdout.write(
        f"\nWrote laboratory profile '{saved.name}' to {out} (sha256 {saved.sha256[:12]}, "
        f"{saved.cells} cells, {time.perf_counter() - t0:.1f} s). Use it with "
        f"--lab {out}.\n"
    )
    return EXIT_OK


def collect(args: argparse.Namespace, pipeline: Any) -> Any:
    """The labelled cells named by --data or --db (`vision.lab_cells.LabCells`)."""
    from hemoscope.vision.lab_cells import from_folder

    clf = pipeline.classifier
    if args.data is not None:
        bar, step = step_bar(_count_images(args.data), "reading", args.quiet)
        cells = from_folder(
            args.data,
            "fields" if args.fields else "cells",
            clf,
            finder=pipeline.detector,
            pipeline=pipeline,
            progress=step,
        )
        bar.close()
        return cells
    return from_database(Path(args.db), clf, pipeline.taxonomy)


def from_database(db: Path, classifier: Any, taxonomy: Any) -> Any:
    """The verified cells of the signed-off cases in the database ``db``."""
    from hemoscope.store.verified import verified_fields
    from hemoscope.vision.lab_adapt import AdaptError
    from hemoscope.vision.lab_cells import from_fields

    seen = [0]

    def cells(fields: Iterator[tuple[Any, Any]]) -> Any:
        def items() -> Iterator[tuple[Any, ...]]:
            for v, rgb in fields:
                seen[0] += 1
                yield v.name, v.case_id, v.cells, v.field.cells, rgb

        return from_fields(items(), classifier, taxonomy)

    out = read_stored_fields(db, verified_fields, cells, AdaptError)
    if not seen[0]:
        raise AdaptError(
            f"{db} holds no signed-off case with verified cells (cells whose class a person "
            "confirmed or corrected)"
        )
    return out


def read_stored_fields(
    db: Path,
    fields_of: Callable[[Any], Iterable[Any]],
    use: Callable[[Iterator[tuple[Any, Any]]], R],
    error: type[Exception],
) -> R:
    """``use`` given the fields ``fields_of(store)`` yields from the case database ``db``,
    each with its image as RGB (None when missing), read one field at a time; ``error``
    raised, with the reason, for a database that is missing or cannot be read."""
    from hemoscope.store import CaseStore, StoreError
    from hemoscope.vision.image_input import to_rgb

    if not db.is_file():
        raise error(f"no case database at {db}")
    try:
        with CaseStore.open(db) as store:
            return use(
                (v, None if v.image is None else to_rgb(v.image, "bgr")) for v in fields_of(store)
            )
    except StoreError as exc:
        raise error(f"cannot read the case database {db}: {exc}") from exc


def _count_images(root: Path) -> int:
    from hemoscope.vision.datasets import image_files

    if not root.is_dir():
        return 0
    return sum(len(image_files(d)) for d in root.iterdir() if d.is_dir())
