"""Other laboratories' white cells, unlabelled, for domain-adversarial training.

``train classifier --domains DIR`` takes one folder of images per laboratory. TXL-PBC's
sources are written by ``pseudo-labels --domains-only``; this writes any laboratory's
folder of single-cell images (``cells``: each image is one cell's crop, framed as
``hemoscope classify`` frames it) or of fields (``fields``: every whole white cell the
detector finds, at the scale of the field's red cells, as ``hemoscope analyze`` cuts
it). Each cell is written framed as PBC's images are (`PBC_CELL_FRACTION`), as the
trainer expects. Class folders, if any, are walked but their names are never read: the
cells go in unlabelled.

    python -m hemoscope.training lab-domains --out RUNS/domains \
        --lab jiangxi=cells:../shared/data/other-labs/jiangxi \
        --lab bionet=fields:../shared/data/other-labs/bionet
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from hemoscope.core import CellKind
from hemoscope.core.overlap import cut_by_edge
from hemoscope.training.domain_cells import frame_as_pbc, write_source
from hemoscope.vision.crops import crop_geometry, whole_image_geometry
from hemoscope.vision.cross_lab import Mode, parse_set
from hemoscope.vision.datasets import load_rgb
from hemoscope.vision.lab_cells import field_rbc_scale
from hemoscope.vision.microscope_cells import image_paths
from hemoscope.vision.pipeline import Pipeline

log = logging.getLogger(__name__)

U8 = npt.NDArray[np.uint8]


def framed_cell(rgb: U8) -> U8:
    """A single-cell image framed as PBC's images."""
    return frame_as_pbc(rgb, *whole_image_geometry(*rgb.shape[:2]))


def framed_field_cells(pipeline: Pipeline, rgb: U8, source: str) -> list[U8]:
    """Every whole white cell the pipeline finds in a field, framed as PBC's images."""
    h, w = rgb.shape[:2]
    fld = pipeline.analyze(rgb, "rgb", source=source)
    rbc = field_rbc_scale(rgb, fld.cells)
    out = []
    for cell in fld.cells:
        if cell.kind is not CellKind.WBC:
            continue
        if cut_by_edge(cell, w, h):
            continue
        out.append(frame_as_pbc(rgb, *crop_geometry(*cell.box.as_tuple(), rbc=rbc)))
    return out


def write_lab(name: str, mode: Mode, folder: Path, out: Path, pipeline: Pipeline | None) -> int:
    """Write one laboratory's unlabelled cells into ``out/<name>/``; how many."""
    if not folder.is_dir():
        raise SystemExit(f"{folder} is not a folder")
    target = out / name
    target.mkdir(parents=True, exist_ok=True)
    written = 0
    for path in image_paths(folder):  # class sub-folders walked, their names not read
        try:
            rgb = load_rgb(path)
        except (OSError, ValueError) as exc:
            log.warning("%s: unreadable, skipped (%s)", path, exc)
            continue
        stem = f"{path.parent.name}_{path.stem}"
        if mode == "cells":
            cells = [framed_cell(rgb)]
        else:
            if pipeline is None:
                pipeline = Pipeline.load()
            cells = framed_field_cells(pipeline, rgb, path.name)
        for i, img in enumerate(cells):
            suffix = "" if mode == "cells" else f"_{i}"
            cv2.imwrite(str(target / f"{stem}{suffix}.png"), img[..., ::-1])
            written += 1
    what = (
        "each image one cell's crop"
        if mode == "cells"
        else "every whole white cell the detector finds in each field"
    )
    write_source(target, f"{name}: {folder} ({what}), class folders not read ('train lab-domains')")
    return written


def write_labs(labs: list[str], out: Path, threads: int | None = None) -> dict[str, int]:
    """Every ``--lab`` into ``out``; cells written per laboratory."""
    parsed = [parse_set(text, "--lab") for text in labs]
    pipeline = Pipeline.load(threads=threads) if any(m == "fields" for _, m, _ in parsed) else None
    return {name: write_lab(name, mode, folder, out, pipeline) for name, mode, folder in parsed}
