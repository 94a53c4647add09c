"""The report's red-cell section: red cells per field, the diameters' histogram, the
red-cell estimate (marked as an estimate).

The histogram is the image `RED_CELL_CHART` (the document builder draws it), with the
counts per bin written out below it.
"""

from __future__ import annotations

from hemoscope.core import RED_CELL_ESTIMATE_LABEL, Case, RedCellSummary, red_cell_summary

from .html_util import e as _e
from .html_util import heading as _heading
from .red_cell_chart import RED_CELL_CHART
from .settings import ReportSettings

__all__ = ["red_cells_html", "report_red_cells"]


def report_red_cells(case: Case, s: ReportSettings) -> RedCellSummary:
    """The red-cell figures the report shows: `ReportSettings.red_cells` when given, else
    those of the case's fields with the settings' calibration."""
    if s.red_cells is not None:
        return s.red_cells
    return red_cell_summary(case, s.um_per_px, s.taxonomy)


def _size(red: RedCellSummary) -> str:
    px, iqr = red.median_px, red.iqr_px
    if px is None or iqr is None:
        return "no whole red cell measured."
    text = f"median {px:.1f} px (IQR {iqr[0]:.1f}–{iqr[1]:.1f})"
    um, iqr_um = red.median_um, red.iqr_um
    if um is not None and iqr_um is not None:
        text = f"median {um:.2f} µm (IQR {iqr_um[0]:.2f}–{iqr_um[1]:.2f}), " + text
    return (
        f"{text} of {red.n_measured} whole red cells (mean of box width and height; cells "
        "cut by the field's edge not measured)."
    )


def _histogram(red: RedCellSummary, chart: bool) -> str:
    hist = red.histogram()
    if not hist.counts:
        return ""
    digits = 1 if hist.unit == "µm" else 0
    bins = " · ".join(
        f"{lo:.{digits}f}–{hi:.{digits}f}: {n}"
        for lo, hi, n in zip(hist.edges, hist.edges[1:], hist.counts, strict=False)
    )
    image = f'<p align=center><img src="{RED_CELL_CHART}" width="400"></p>' if chart else ""
    return f"{image}<p class=small>Cells per {hist.bin_width:g} {hist.unit}: {bins}.</p>"


def red_cells_html(case: Case, s: ReportSettings, *, chart: bool = True) -> str:
    """The section, or "" when the case has no red cells; ``chart``: with the histogram's
    image (it goes with the differential's chart when that is left out to fit the page),
    the counts per bin are written out in any case."""
    red = report_red_cells(case, s)
    mean = red.mean_per_field
    if mean is None or red.total == 0:
        return ""
    density = red.per_1000_um2
    area = "" if density is None else f", {density:.1f} per 1,000 µm² imaged"
    scale = (
        f"Camera scale {red.um_per_px:.4g} µm per pixel (stage micrometer)."
        if red.um_per_px is not None
        else "Camera not calibrated: diameters in image pixels."
    )
    return (
        _heading("Red cells")
        + f"<p>ESTIMATE: ≈ {mean:.1f} red cells per field{area} ({red.total} in "
        f"{red.n_fields} field(s)). Diameter: {_e(_size(red))} {_e(scale)}</p>"
        + _histogram(red, chart)
        + f'<p class="muted small">{_e(RED_CELL_ESTIMATE_LABEL)}.</p>'
    )
