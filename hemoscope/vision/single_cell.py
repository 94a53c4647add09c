"""Framing an image that shows one white cell (a crop from an analyser or a camera).

Such images come framed in many ways: PBC's CellaVision crops show the cell at about
40% of the side with red cells around it, other laboratories crop tighter. To give the
classifier the framing it was trained on, the detector finds the white cell nearest the
centre and the crop rule cuts around its box, at the scale the red cells around it
give, exactly as for cells found in a field. The crop stays inside the image as long as
the cell's box fills at most `MAX_CELL_SHARE` of its side; a tighter image (the cell
fills most of it) is extended by repeating its edge, so the cell keeps a size the
classifier was trained on. When no white cell is found ("no white cell found", or "no
cell found" when the detector finds no cell of any kind), or without a detector ("whole
image"), the whole image is the crop; `review_reason` says when a result needs a
person's look.
"""

from __future__ import annotations

from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from hemoscope.core import (
    REASON_DISAGREE,
    REASON_LOW_CONFIDENCE,
    REASON_NO_CELL,
    REASON_NO_WHITE_CELL,
    join_reasons,
    split_reasons,
)
from hemoscope.vision.crops import (
    crop_geometry,
    cut_crop,
    rbc_diameter,
    wbc_sized,
    whole_image_geometry,
)
from hemoscope.vision.detector import Detections
from hemoscope.vision.image_input import Channels, to_rgb

Framing = Literal[
    "detected",
    "detected, smaller than a white cell",
    "whole image",
    "no white cell found",
    "no cell found",
]

MAX_CELL_SHARE = 0.6
"""Largest share of the crop's side the white cell's box may fill. Training frames the
cell at 0.37-0.71 of the side (the crop rule's 0.5, scaled x0.7-1.35). On PBC validation
images cut to 0.45 of their side, capping the crop at the image instead scored 3.6 points
lower on white cells clean and 7.9 blurrier, bluer and JPEG-compressed; at 0.55, 0.3-0.5
lower; whole images and cuts to 0.7 the same within 0.1 (benchmarks/stress_single_cell.py)."""


class CellFinder(Protocol):
    names: tuple[str, ...]

    def detect(self, image: npt.NDArray[np.generic], channels: Channels = "bgr") -> Detections: ...


def frame_single_cell(
    image: npt.NDArray[np.generic],
    size: int,
    scale: float,
    finder: CellFinder | None,
    channels: Channels = "bgr",
) -> tuple[npt.NDArray[np.uint8], Framing]:
    """The classifier's crop of a one-cell image, and how it was framed."""
    rgb = to_rgb(image, channels)
    h, w = rgb.shape[:2]
    if finder is not None and "wbc" in finder.names:
        d = finder.detect(rgb, channels="rgb")
        wbc = d.boxes[d.classes == finder.names.index("wbc")]
        if len(wbc):
            centres = (wbc[:, :2] + wbc[:, 2:]) / 2
            nearest = int(np.argmin(((centres - (w / 2, h / 2)) ** 2).sum(axis=1)))
            x1, y1, x2, y2 = (float(v) for v in wbc[nearest])
            rbc = None
            if "rbc" in finder.names:
                rbc = rbc_diameter(d.boxes[d.classes == finder.names.index("rbc")], w, h)
            cx, cy, side = crop_geometry(x1, y1, x2, y2, scale, rbc)
            fits = max(float(max(h, w)), max(x2 - x1, y2 - y1) / MAX_CELL_SHARE)
            how: Framing = (
                "detected"
                if wbc_sized((x1, y1, x2, y2), rbc)
                else "detected, smaller than a white cell"
            )
            return cut_crop(rgb, cx, cy, min(side, fits), size), how
        framing: Framing = "no white cell found" if len(d) else "no cell found"
    else:
        framing = "whole image"
    cx, cy, side = whole_image_geometry(h, w)
    return cut_crop(rgb, cx, cy, side, size), framing


def review_reason(framing: Framing, label: str, classifier: bool | str) -> str:
    """Why a single-cell result needs review ("" when it does not), several reasons
    joined by "; ": the detector found no cell at all (a blank or unusable picture,
    whatever the classifier makes of it), or no white cell where a white cell is named,
    or a white cell of a white cell's size (`crops.wbc_sized`) where the classifier
    names a platelet; and the classifier's own
    reasons (``classifier``: its reasons, e.g. "low confidence; unfamiliar", or True for
    "low confidence")."""
    own = REASON_LOW_CONFIDENCE if classifier is True else (classifier or "")
    if framing == "no cell found":
        return REASON_NO_CELL
    reasons = []
    if framing == "no white cell found" and label != "platelet":
        reasons.append(REASON_NO_WHITE_CELL)
    if framing == "detected" and label == "platelet":
        reasons.append(REASON_DISAGREE)
    return join_reasons([*reasons, *split_reasons(own)])
