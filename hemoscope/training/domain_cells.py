"""Unlabelled white cells for ``train classifier --domains``: framed as PBC's images, and
where each laboratory's folder came from.

Both writers (``pseudo-labels --domains-only`` for TXL-PBC's sources, ``lab-domains``
for any laboratory's folder) frame a cell the way the trainer expects PBC's images
(`frame_as_pbc`), skip cells cut by the field's edge as the station does
(`core.overlap.cut_by_edge`) and leave a
``source.txt`` in each laboratory's folder (`write_source`), which the model card
quotes (`read_sources`): the card says what went in, not what usually goes in.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from hemoscope.vision.crops import PBC_CELL_FRACTION, cut_crop

U8 = npt.NDArray[np.uint8]

SAVED_SIDE = 216
"""Side of the written images, as PBC's images (about 216 x 218 px)."""
SOURCE_FILE = "source.txt"


def frame_as_pbc(rgb: U8, cx: float, cy: float, side: float) -> U8:
    """The cell whose crop-rule square is (cx, cy, side), framed as PBC's images: the
    trainer cuts 2 x `PBC_CELL_FRACTION` of an image's side around its centre."""
    return cut_crop(rgb, cx, cy, side / (2.0 * PBC_CELL_FRACTION), SAVED_SIDE)


def write_source(folder: Path, text: str) -> None:
    """Say where a laboratory folder's cells came from (read back by `read_sources`)."""
    (folder / SOURCE_FILE).write_text(text.strip() + "\n", encoding="utf-8")


def read_sources(root: Path) -> dict[str, str]:
    """Each laboratory folder's ``source.txt`` under ``root`` ("not recorded" without)."""
    out = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        path = folder / SOURCE_FILE
        out[folder.name] = (
            path.read_text(encoding="utf-8").strip() if path.is_file() else "not recorded"
        )
    return out
