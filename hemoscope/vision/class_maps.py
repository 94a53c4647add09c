"""Why this class: the classifier's class activation maps as heat overlays over a cell.

The classifier's graph gives, for each crop, one coarse map per class (`Classifier.
class_maps`): where in the crop the evidence for that class lies. `heat_overlay` turns one
map into an RGBA picture of the crop's size (upsampled, normalised, coloured, its
opacity following the heat so that the cell stays visible under the cool parts), and
`Placement` says exactly where the crop, hence the overlay, lies in the field's image.
`cell_maps` computes them for the cells of one field: the same crops as the
classification (the crop rule at the field's red-cell scale), each with its class
probabilities so that the shown class and the runner-up can be told.

Maps run the model: call `cell_maps` off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from hemoscope.core import Box, CellKind, Field
from hemoscope.vision.crops import crop_geometry, cut_crop, rbc_diameter
from hemoscope.vision.image_input import Channels, to_rgb

__all__ = [
    "COLOUR_MAP",
    "MAX_ALPHA",
    "CellMaps",
    "Placement",
    "cell_maps",
    "field_rbc",
    "heat_overlay",
]

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

COLOUR_MAP = cv2.COLORMAP_JET
"""Blue (no evidence) through green and yellow to red (the strongest evidence)."""
MAX_ALPHA = 0.6
"""Opacity of the hottest part of an overlay; the opacity falls with the heat."""
MIN_HEAT = 0.3
"""Heat (over the map's peak) below which the overlay is transparent."""


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a square crop lies in its field's image, in image pixels (pixel i spans
    [i, i + 1)): its top-left corner (``x``, ``y``) and its ``side``. An overlay of any
    size stretched over this square lies exactly over the crop's pixels."""

    x: float
    y: float
    side: float

    @classmethod
    def of_crop(cls, cx: float, cy: float, side: float, size: int) -> Placement:
        """The square `cut_crop(image, cx, cy, side, size)` samples: its output pixel j
        has its centre at image pixel index cx + (j - size / 2) * side / size."""
        shift = 0.5 * (1.0 - side / size)
        return cls(cx - side / 2 + shift, cy - side / 2 + shift, side)

    def to_image(self, u: float, v: float, size: int) -> tuple[float, float]:
        """The image point under point (u, v) of a `size` x `size` overlay."""
        k = self.side / size
        return self.x + u * k, self.y + v * k


def heat_overlay(
    cam: npt.ArrayLike,
    size: int,
    *,
    max_alpha: float = MAX_ALPHA,
    colour_map: int = COLOUR_MAP,
) -> U8:
    """One class's map (h, w) as a `size` x `size` RGBA overlay (uint8).

    The map is upsampled to the crop's size (bicubic, cell centres aligned), only its
    positive part kept (evidence for the class) and divided by its peak; the colour map
    colours it and the opacity rises from 0 (below `MIN_HEAT` of the peak) to
    `max_alpha` at the peak. A map without positive evidence gives a transparent overlay.
    """
    m = np.asarray(cam, dtype=np.float32)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"expected one (h, w) map, got shape {m.shape}")
    if size <= 0:
        raise ValueError("overlay size must be positive")
    out = np.zeros((size, size, 4), np.uint8)
    m = np.where(np.isfinite(m), np.maximum(m, 0.0), 0.0).astype(np.float32)
    peak = float(m.max())
    if peak <= 0.0:
        return out
    up = cv2.resize(m / peak, (size, size), interpolation=cv2.INTER_CUBIC)
    heat = np.clip(up, 0.0, 1.0)
    bgr = cv2.applyColorMap(np.round(heat * 255).astype(np.uint8), colour_map)
    out[..., :3] = bgr[..., ::-1]
    ramp = np.clip((heat - MIN_HEAT) / (1.0 - MIN_HEAT), 0.0, 1.0)
    out[..., 3] = np.round(ramp * (255 * max_alpha)).astype(np.uint8)
    return out


@dataclass(frozen=True)
class CellMaps:
    """One cell's maps: (C, h, w) per class of the classifier (as taxonomy ids,
    ``classes``), its class probabilities (C,) and where its crop lies in the field."""

    maps: F32
    classes: tuple[str, ...]
    probabilities: npt.NDArray[np.float64]
    placement: Placement
    crop: U8  # the RGB crop the maps are of

    def top(self) -> str:
        return self.classes[int(np.argmax(self.probabilities))]

    def ranked(self, shown: str | None) -> tuple[str, str | None]:
        """The class whose map to show for a cell shown as `shown` (that class when the
        classifier has a map of it, else the classifier's best) and the runner-up: the
        most probable other class (None with a single class)."""
        first = shown if shown in self.classes else self.top()
        order = np.argsort(-self.probabilities, kind="stable")
        second = next((self.classes[i] for i in order if self.classes[i] != first), None)
        return first, second

    def probability(self, class_id: str) -> float:
        return float(self.probabilities[self.classes.index(class_id)])

    def overlay(self, class_id: str, size: int | None = None) -> U8:
        """`heat_overlay` of `class_id`'s map, the crop's size unless `size` is given."""
        side = int(self.crop.shape[0]) if size is None else size
        return heat_overlay(self.maps[self.classes.index(class_id)], side)

    def blended(self, class_id: str) -> U8:
        """The crop (RGB) with `class_id`'s overlay laid over it."""
        rgba = self.overlay(class_id).astype(np.float32)
        alpha = rgba[..., 3:] / 255.0
        mixed = self.crop.astype(np.float32) * (1 - alpha) + rgba[..., :3] * alpha
        return np.round(mixed).astype(np.uint8)


class MapModel(Protocol):
    """What `cell_maps` needs of a classifier (`vision.classifier.Classifier`)."""

    input_size: int
    crop_scale: float

    def class_maps(self, crops: Any) -> F32: ...

    def classify_crops(self, crops: Any) -> Any: ...


def field_rbc(field: Field) -> float | None:
    """The field's red-cell diameter as the pipeline measured it: the median of its whole
    red cells (`crops.rbc_diameter`), None when too few are left."""
    boxes = [c.box.as_tuple() for c in field.cells if c.kind is CellKind.RBC]
    return rbc_diameter(np.asarray(boxes, np.float64), field.width, field.height)


def cell_maps(
    classifier: MapModel,
    image: npt.NDArray[np.generic],
    boxes: Sequence[Box],
    class_ids: Sequence[str],
    *,
    rbc: float | None = None,
    channels: Channels = "bgr",
) -> list[CellMaps]:
    """The maps of the cells at `boxes` in a field's `image`, cut as the pipeline cuts
    them (at the red-cell diameter `rbc`); `class_ids`: the taxonomy ids of the
    classifier's classes, in its order. Runs the model (never on the GUI thread)."""
    rgb = to_rgb(image, channels)
    size = int(classifier.input_size)
    crops = np.empty((len(boxes), size, size, 3), np.uint8)
    places = []
    for i, box in enumerate(boxes):
        cx, cy, side = crop_geometry(*box.as_tuple(), classifier.crop_scale, rbc)
        crops[i] = cut_crop(rgb, cx, cy, side, size)
        places.append(Placement.of_crop(cx, cy, side, size))
    if not len(crops):
        return []
    maps = classifier.class_maps(crops)
    probs = np.asarray(classifier.classify_crops(crops).probabilities, np.float64)
    ids = tuple(class_ids)
    return [CellMaps(maps[i], ids, probs[i], places[i], crops[i].copy()) for i in range(len(crops))]
