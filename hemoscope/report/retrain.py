"""Retraining exports: a laboratory's own images, labelled by its technicians.

- :func:`export_crops`: the cells a technician corrected (optionally also those they
  confirmed) as square crops in an ImageFolder tree, ``<dest>/<class id>/<name>.png``,
  for retraining the classifier.
- :func:`export_yolo`: the captured fields in YOLO layout, ``<dest>/images/<name>.png``
  and ``<dest>/labels/<name>.txt`` (``class cx cy w h``, normalised; classes 0 wbc,
  1 rbc, 2 platelet by each cell's effective kind), with ``data.yaml``, for retraining
  the detector. Boxes are the case's cells as they stand: false detections the
  technician deleted are gone, cells added by hand are in; red cells and platelets that
  nobody reviewed are as the detector found them.

Files are written atomically; errors raise `ExportError`. Both exports can be run for
many cases into the same folder: names carry the sample, field and cell ids.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from hemoscope.core import DEFAULT_TAXONOMY, Case, CellKind, Taxonomy, effective_kind

from .atomic import ExportError, atomic_write_bytes, atomic_write_text
from .crops import CropFunction, FieldImages, square_crop

__all__ = ["YOLO_CLASSES", "RetrainExport", "export_crops", "export_yolo"]

logger = logging.getLogger(__name__)

YOLO_CLASSES = {CellKind.WBC: 0, CellKind.RBC: 1, CellKind.PLATELET: 2}
_YAML = "# HemoScope detector data (YOLO layout)\nnc: 3\nnames: ['wbc', 'rbc', 'platelet']\n"


@dataclass(slots=True)
class RetrainExport:
    """What an export wrote: files per class (crops) or fields and boxes (YOLO)."""

    per_class: dict[str, int] = field(default_factory=dict)
    fields: int = 0
    boxes: int = 0
    skipped_fields: list[str] = field(default_factory=list)

    @property
    def crops(self) -> int:
        return sum(self.per_class.values())


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "case"


def _png(path: Path, image: npt.NDArray[np.uint8]) -> None:
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise ExportError(path, "the image could not be encoded as PNG")
    atomic_write_bytes(path, data.tobytes())


def _mkdir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(path, exc.strerror or str(exc), exc) from exc


def export_crops(
    case: Case,
    images: FieldImages,
    dest: str | os.PathLike[str],
    *,
    taxonomy: Taxonomy = DEFAULT_TAXONOMY,
    include_confirmed: bool = False,
    size: int | None = None,
    crop: CropFunction | None = None,
) -> RetrainExport:
    """Write crops of the corrected white cells of ``case`` into an ImageFolder tree.

    A cell is exported when a human set its class and it differs from the automatic one
    (relabelled, or added by hand), or with ``include_confirmed`` also when a human
    confirmed the automatic class. Only classes of white-cell kind (the classifier's
    domain) are exported. ``size`` resizes crops (``None``: native pixels); ``crop``
    replaces the built-in square crop rule.
    """
    root = Path(dest)
    result = RetrainExport()
    stem = _safe(case.info.sample_id)
    for fld in case.fields:
        chosen = [
            c
            for c in fld.cells
            if c.final_class is not None
            and (c.corrected or include_confirmed)
            and c.final_class in taxonomy
            and taxonomy[c.final_class].kind is CellKind.WBC
        ]
        if not chosen:
            continue
        image = images(fld.id)
        if image is None:
            result.skipped_fields.append(fld.id)
            continue
        for cell in chosen:
            cls = str(cell.final_class)
            patch = (crop or square_crop)(image, cell.box, size)
            folder = root / cls
            _mkdir(folder)
            _png(folder / f"{stem}_{_safe(fld.id)}_{_safe(cell.id)}.png", patch)
            result.per_class[cls] = result.per_class.get(cls, 0) + 1
    if result.skipped_fields:
        logger.warning(
            "case %s: %d field(s) without an image were skipped",
            case.info.sample_id,
            len(result.skipped_fields),
        )
    return result


def _yolo_lines(case: Case, index: int, taxonomy: Taxonomy) -> list[str]:
    fld = case.fields[index]
    lines = []
    for cell in fld.cells:
        box = cell.box.clip(fld.width, fld.height)
        if box.width <= 0 or box.height <= 0:
            continue
        k = YOLO_CLASSES[effective_kind(cell, taxonomy)]
        cx, cy = box.centre
        lines.append(
            f"{k} {cx / fld.width:.6f} {cy / fld.height:.6f} "
            f"{box.width / fld.width:.6f} {box.height / fld.height:.6f}"
        )
    return lines


def export_yolo(
    case: Case,
    images: FieldImages,
    dest: str | os.PathLike[str],
    *,
    taxonomy: Taxonomy = DEFAULT_TAXONOMY,
) -> RetrainExport:
    """Write every field of ``case`` that has an image, with its boxes, in YOLO layout."""
    root = Path(dest)
    result = RetrainExport()
    stem = _safe(case.info.sample_id)
    for index, fld in enumerate(case.fields):
        image = images(fld.id)
        if image is None:
            result.skipped_fields.append(fld.id)
            continue
        if image.shape[:2] != (fld.height, fld.width):
            raise ValueError(
                f"field {fld.id}: image is {image.shape[1]}x{image.shape[0]}, "
                f"the field {fld.width}x{fld.height}"
            )
        name = f"{stem}_{_safe(fld.id)}"
        lines = _yolo_lines(case, index, taxonomy)
        _mkdir(root / "images")
        _mkdir(root / "labels")
        _png(root / "images" / f"{name}.png", image)
        atomic_write_text(root / "labels" / f"{name}.txt", "".join(f"{ln}\n" for ln in lines))
        result.fields += 1
        result.boxes += len(lines)
    if result.fields:
        atomic_write_text(root / "data.yaml", _YAML)
    return result
