"""``hemoscope analyze PATH...``: find and classify the cells of images, as one case.

Every image file (folders are expanded, sub-folders with ``--recursive``) is read,
analysed by the `Pipeline` and forgotten; only its cells are kept, for the differential.
The results are the differential of all images together (one case), the smear
estimates, and optional files: ``--json`` (every image and cell, the differential and the
estimates), ``--csv`` (one row per cell) and ``--summary`` (one row per class).

The images are taken as fields of one smear, as the station takes them: a white cell
that an earlier image of the run showed (the fields overlap; registered as at the
station, `core.overlap`, against the 12 images before it) is listed as "already
counted", one cut by the image's edge as "cut by the edge"; both stay in the outputs
(``uncounted``) but out of the differential. ``--count-all`` counts every white cell
found (independent images, each its own cell).

Bad input never stops the run: a file that cannot be read or analysed is listed with its
reason on stderr and in the JSON (``"status": "error"``), and the others are processed.
Exit status: 0 when every file was analysed, 2 when some failed, 1 when none could be
analysed or the arguments were wrong (130 when interrupted).

Large images: images over ``--max-megapixels`` (default 40 MP, more than any microscope
camera gives) are refused from their header, before a pixel is decoded, so memory stays
bounded (about 3 bytes per pixel of the largest image allowed, 8-bit; more while a 16-bit
or float file is converted). An allowed large frame is letterboxed whole to the
detector, which re-runs itself in tiles when the cells it finds come out small; a camera
whose field holds many more cells than the detector's training fields (6-8 red cells
across) should give ``--rbc-diameter``, and its frames are then analysed in tiles at the
trained scale (`hemoscope.vision.wide_field`). Memory stays that of one decoded frame.
"""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

from hemoscope.commands.common import EXIT_FAILED, add_sensitivity_arg, error

log = logging.getLogger(__name__)

EXIT_INTERRUPTED = 130
DEFAULT_MAX_MEGAPIXELS = 40.0


class UsageError(ValueError):
    """A wrong option value: reported on stderr, exit status 1."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="find and classify the cells of images (files or folders) as one case",
        description="Finds red cells, white cells and platelets in each image, classifies "
        "the white cells and prints the differential of all images together, with the "
        "smear estimates. Files that cannot be read are reported and skipped.",
        epilog="Exit status: 0 all images analysed, 2 some failed, 1 none could be "
        "analysed or wrong arguments.",
    )
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="image files or folders")
    p.add_argument("--recursive", action="store_true", help="include sub-folders")
    p.add_argument("--json", type=Path, metavar="FILE", help="write every image and cell here")
    p.add_argument("--csv", type=Path, metavar="FILE", help="write one row per cell here")
    p.add_argument("--summary", type=Path, metavar="FILE", help="write one row per class here")
    p.add_argument(
        "--pdf", type=Path, metavar="FILE", help="write the differential report (PDF) here"
    )
    p.add_argument("--target", default="100", metavar="N", help="WBC to count (default 100)")
    p.add_argument(
        "--platelet-factor",
        default="15000",
        metavar="F",
        help="platelets /µL per platelet per field (default 15000)",
    )
    p.add_argument(
        "--wbc-factor", metavar="F", help="WBC /µL per WBC per field (the lab's; default: none)"
    )
    p.add_argument(
        "--max-megapixels",
        default=str(DEFAULT_MAX_MEGAPIXELS),
        metavar="MP",
        help=f"refuse larger images (default {DEFAULT_MAX_MEGAPIXELS:.0f})",
    )
    p.add_argument(
        "--rbc-diameter",
        metavar="PX",
        help="typical red-cell diameter in the images, in pixels: set it for cameras with a "
        "wide field (many more cells than 6-8 across), whose frames are then analysed in "
        "tiles at the detector's scale (default: the detector decides)",
    )
    p.add_argument(
        "--um-per-pixel",
        metavar="UM",
        help="the camera's scale in µm per image pixel (from a stage micrometer): red-cell "
        "diameters are then given in µm too (default: pixels only)",
    )
    p.add_argument("--detector", type=Path, metavar="FILE", help="detector ONNX file")
    p.add_argument("--classifier", type=Path, metavar="FILE", help="classifier ONNX file")
    p.add_argument(
        "--lab",
        type=Path,
        metavar="PROFILE",
        help="laboratory profile made by 'hemoscope adapt' for these models",
    )
    add_sensitivity_arg(p)
    p.add_argument(
        "--count-all",
        action="store_true",
        help="count every white cell found: no cell is left out for being seen in an "
        "earlier image or cut by the image's edge (images that are not overlapping fields "
        "of one smear)",
    )
    p.add_argument("--threads", metavar="N", help="CPU threads per model (default: all)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=analyze)


def _number(name: str, text: str | None, *, integer: bool = False) -> float | None:
    if text is None:
        return None
    try:
        value = float(int(text)) if integer else float(text)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise UsageError(f"{name} must be {kind}, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise UsageError(f"{name} must be greater than 0, got {text!r}")
    return value


def _threads(text: str | None) -> int | None:
    value = _number("--threads", text, integer=True)
    return None if value is None else int(value)


def _check_outputs(args: argparse.Namespace) -> list[tuple[str, Path]]:
    outputs = [(opt, getattr(args, opt)) for opt in ("json", "csv", "summary", "pdf")]
    outputs = [(opt, Path(path)) for opt, path in outputs if path is not None]
    seen: dict[Path, str] = {}
    for opt, path in outputs:
        key = path.resolve()
        if key in seen:
            raise UsageError(f"--{opt} and --{seen[key]} name the same file {path}")
        seen[key] = opt
        if path.is_dir():
            raise UsageError(f"--{opt} {path} is a folder; give a file name")
        if not path.parent.is_dir():
            raise UsageError(f"--{opt}: the folder {path.parent} does not exist")
    return outputs


def analyze(args: argparse.Namespace) -> int:
    """Handler of ``hemoscope analyze``; returns the exit status."""
    from hemoscope.commands.analyze_run import Options, run

    try:
        target = _number("--target", args.target, integer=True)
        options = Options(
            paths=list(args.paths),
            recursive=bool(args.recursive),
            outputs={opt: path for opt, path in _check_outputs(args) if opt != "pdf"},
            pdf=args.pdf,
            target=int(target or 100),
            platelet_factor=float(_number("--platelet-factor", args.platelet_factor) or 0),
            wbc_factor=_number("--wbc-factor", args.wbc_factor),
            max_pixels=int(1e6 * (_number("--max-megapixels", args.max_megapixels) or 0)),
            rbc_diameter=_number("--rbc-diameter", args.rbc_diameter),
            um_per_px=_number("--um-per-pixel", args.um_per_pixel),
            detector=args.detector,
            classifier=args.classifier,
            profile=args.lab,
            sensitivity=args.sensitivity,
            threads=_threads(args.threads),
            progress=not args.quiet,
            count_all=bool(args.count_all),
        )
        if not options.paths:
            raise UsageError("give at least one image file or folder")
    except UsageError as exc:
        error(str(exc))
        return EXIT_FAILED
    try:
        return run(options)
    except KeyboardInterrupt:
        error("interrupted; no output file was written")
        return EXIT_INTERRUPTED
