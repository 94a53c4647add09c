"""The red-cell picture of a case: red cells per field and their diameters.

Computed from the red-cell boxes the detector stored with each field (nothing else):

- red cells per field: the cells whose effective kind is RBC, cut by the edge or not;
- diameters: of the whole red cells only (boxes more than `EDGE_MARGIN` pixels from every
  edge of the field, as ``vision.crops.rbc_diameter`` takes them), each the mean of its
  box's width and height; their median, interquartile range and histogram, in pixels and,
  once the camera is calibrated (``um_per_px``), in µm;
- the red-cell estimate, marked as such: the mean red cells per field, and with a
  calibration the red cells per 1,000 µm² of the fields imaged. Both describe the area of
  the smear that was looked at (they depend on where on the smear the fields were taken:
  the monolayer or the thick part), not the blood: no count per µL is derived from them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .case import Case
from .cells import Field
from .estimates import effective_kind
from .taxonomy import DEFAULT_TAXONOMY, CellKind, Taxonomy

__all__ = [
    "EDGE_MARGIN",
    "RED_CELL_ESTIMATE_LABEL",
    "DiameterHistogram",
    "RedCellSummary",
    "diameter_histogram",
    "field_red_cells",
    "red_cell_summary",
    "um_per_px_from_micrometer",
]

EDGE_MARGIN = 2.0
"""A red cell whose box comes within this many pixels of the field's edge is cut by it."""

RED_CELL_ESTIMATE_LABEL = (
    "Red-cell estimate from the detected red cells per field: it describes the area of the "
    "smear imaged, not the blood (no RBC count per µL)"
)

#: The narrowest bin of a histogram in µm (when calibrated), and in pixels.
UM_MIN_BIN = 0.5
PX_MIN_BIN = 1.0
#: About this many bins at most (wider, round bins when the diameters spread further).
BINS = 12


def um_per_px_from_micrometer(micrometres: float, pixels: float) -> float:
    """The camera's scale from a stage micrometer: ``micrometres`` spanning ``pixels``."""
    if not (math.isfinite(micrometres) and micrometres > 0):
        raise ValueError(f"the micrometer length must be > 0 µm, got {micrometres}")
    if not (math.isfinite(pixels) and pixels > 0):
        raise ValueError(f"the length in the image must be > 0 pixels, got {pixels}")
    return micrometres / pixels


def field_red_cells(
    field: Field, taxonomy: Taxonomy = DEFAULT_TAXONOMY
) -> tuple[int, npt.NDArray[np.float64]]:
    """The field's red cells: how many, and the diameters (px) of the whole ones."""
    boxes = [c.box for c in field.cells if effective_kind(c, taxonomy) is CellKind.RBC]
    if not boxes:
        return 0, np.zeros(0, dtype=np.float64)
    b = np.array([x.as_tuple() for x in boxes], dtype=np.float64)
    m = EDGE_MARGIN
    whole = (b[:, 0] > m) & (b[:, 1] > m) & (b[:, 2] < field.width - m)
    whole &= b[:, 3] < field.height - m
    inner = b[whole]
    return len(boxes), (inner[:, 2] - inner[:, 0] + inner[:, 3] - inner[:, 1]) / 2.0


@dataclass(frozen=True, slots=True)
class DiameterHistogram:
    """Counts of diameters in bins ``[edges[i], edges[i+1])`` (the last bin closed)."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]
    unit: str

    @property
    def bin_width(self) -> float:
        return self.edges[1] - self.edges[0] if len(self.edges) > 1 else 0.0


def _nice_width(span: float, bins: int, minimum: float) -> float:
    """A bin width of 1, 2 or 5 x 10^k, at least ``span / bins`` and ``minimum``."""
    raw = max(span / bins, minimum)
    power = 10.0 ** math.floor(math.log10(raw))
    for step in (1.0, 2.0, 5.0, 10.0):
        if raw <= step * power:
            return step * power
    return 10.0 * power  # pragma: no cover - the loop always returns


def diameter_histogram(
    diameters: npt.ArrayLike,
    bin_width: float | None = None,
    unit: str = "px",
    min_bin: float = PX_MIN_BIN,
) -> DiameterHistogram:
    """The histogram of ``diameters``; ``bin_width`` None: a round width (1, 2 or 5 x
    10^k, at least ``min_bin``) for at most about `BINS` bins. Bin edges are multiples
    of the width."""
    d = np.asarray(diameters, dtype=np.float64).ravel()
    if len(d) == 0:
        return DiameterHistogram((), (), unit)
    if bin_width is None:
        bin_width = _nice_width(float(d.max() - d.min()), BINS, min_bin)
    if not (math.isfinite(bin_width) and bin_width > 0):
        raise ValueError(f"the bin width must be > 0, got {bin_width}")
    lo = math.floor(float(d.min()) / bin_width)
    hi = max(math.floor(float(d.max()) / bin_width) + 1, lo + 1)
    edges = np.arange(lo, hi + 1, dtype=np.float64) * bin_width
    counts, _ = np.histogram(d, bins=edges)
    return DiameterHistogram(
        tuple(round(float(e), 6) for e in edges), tuple(int(n) for n in counts), unit
    )


@dataclass(frozen=True, slots=True)
class RedCellSummary:
    """The red-cell figures of a set of fields (see the module's docstring).

    ``diameters_px``: of the whole red cells; ``um_per_px``: the camera's scale, None when
    it is not calibrated (then no µm figures). The estimate (``mean_per_field``,
    ``per_1000_um2``) is flagged ``is_estimate``.
    """

    per_field: tuple[int, ...]
    diameters_px: tuple[float, ...]
    imaged_px: float
    um_per_px: float | None = None
    is_estimate: bool = True

    @property
    def n_fields(self) -> int:
        return len(self.per_field)

    @property
    def total(self) -> int:
        return sum(self.per_field)

    @property
    def n_measured(self) -> int:
        return len(self.diameters_px)

    @property
    def mean_per_field(self) -> float | None:
        """The red-cell estimate: mean red cells per field; None with no fields."""
        return self.total / self.n_fields if self.per_field else None

    @property
    def per_1000_um2(self) -> float | None:
        """Red cells per 1,000 µm² of the fields imaged; None when not calibrated."""
        if self.um_per_px is None or self.imaged_px <= 0:
            return None
        return 1000.0 * self.total / (self.imaged_px * self.um_per_px**2)

    def _quantiles(self, scale: float) -> tuple[float, float, float] | None:
        if not self.diameters_px:
            return None
        q1, q2, q3 = np.percentile(np.asarray(self.diameters_px) * scale, [25, 50, 75])
        return float(q1), float(q2), float(q3)

    @property
    def median_px(self) -> float | None:
        q = self._quantiles(1.0)
        return None if q is None else q[1]

    @property
    def iqr_px(self) -> tuple[float, float] | None:
        """The interquartile range (25th, 75th percentile) of the diameters in px."""
        q = self._quantiles(1.0)
        return None if q is None else (q[0], q[2])

    @property
    def median_um(self) -> float | None:
        q = None if self.um_per_px is None else self._quantiles(self.um_per_px)
        return None if q is None else q[1]

    @property
    def iqr_um(self) -> tuple[float, float] | None:
        q = None if self.um_per_px is None else self._quantiles(self.um_per_px)
        return None if q is None else (q[0], q[2])

    def histogram(self) -> DiameterHistogram:
        """The diameters' histogram: in µm when calibrated (bins of 0.5 µm, wider when
        the diameters spread over more than 6 µm), else in px (bins from 1 px)."""
        if self.um_per_px is None:
            return diameter_histogram(self.diameters_px)
        um = np.asarray(self.diameters_px) * self.um_per_px
        return diameter_histogram(um, None, "µm", UM_MIN_BIN)


def red_cell_summary(
    fields: Case | Sequence[Field],
    um_per_px: float | None = None,
    taxonomy: Taxonomy = DEFAULT_TAXONOMY,
) -> RedCellSummary:
    """The red-cell figures of a case's fields; ``um_per_px``: the camera's calibration
    (None or 0: not calibrated)."""
    if um_per_px is not None and not (math.isfinite(um_per_px) and um_per_px >= 0):
        raise ValueError(f"µm per pixel must be > 0, got {um_per_px}")
    items = fields.fields if isinstance(fields, Case) else fields
    per_field: list[int] = []
    diameters: list[float] = []
    area = 0.0
    for f in items:
        n, d = field_red_cells(f, taxonomy)
        per_field.append(n)
        diameters.extend(float(x) for x in d)
        area += float(f.width) * float(f.height)
    return RedCellSummary(tuple(per_field), tuple(diameters), area, um_per_px or None)
