"""What the report needs besides the case: laboratory, software and model versions,
reference ranges, estimate factors, page size and optional pages."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from hemoscope import __version__
from hemoscope.core import (
    DEFAULT_PLATELET_FACTOR,
    DEFAULT_REFERENCE,
    DEFAULT_TAXONOMY,
    Case,
    ModelStamp,
    RedCellSummary,
    ReferenceSet,
    Taxonomy,
)

__all__ = [
    "LabInfo",
    "PageSize",
    "ReportSettings",
    "SoftwareInfo",
    "with_case_models",
]

PageSize = Literal["A4", "Letter"]


@dataclass(frozen=True, slots=True)
class LabInfo:
    """The laboratory printed in the header (from the application's settings)."""

    name: str = ""
    address: str = ""
    logo: Path | None = None


@dataclass(frozen=True, slots=True)
class SoftwareInfo:
    """The program and the models that produced the differential."""

    version: str = __version__
    models: tuple[ModelStamp, ...] = ()
    name: str = "HemoScope"

    def label(self) -> str:
        models = "; ".join(m.label() for m in self.models) or "no models recorded"
        return f"{self.name} {self.version} (models: {models})"


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """Everything about the report that is not the case itself.

    ``wbc_factor`` (WBC /µL per WBC per field) has no default: without it the report
    gives no WBC estimate. ``thumbnails`` adds a page of cell images per class (needs
    field images); ``class_maps`` shows on that page, beside each cell, the heat map of
    its class (the classifier's class activation map, computed by the caller and passed
    as ``maps``: the report never runs a model); ``chart`` a bar chart of the
    differential. ``um_per_px``: the camera's scale (stage micrometer), None when not
    calibrated: red-cell diameters in px only.
    ``red_cells``: red-cell figures computed elsewhere, for a case whose fields no longer
    hold their red cells (``hemoscope analyze`` drops them as it goes); None: from the case.
    """

    lab: LabInfo = field(default_factory=LabInfo)
    software: SoftwareInfo = field(default_factory=SoftwareInfo)
    taxonomy: Taxonomy = DEFAULT_TAXONOMY
    reference: ReferenceSet = DEFAULT_REFERENCE
    target: int = 100
    platelet_factor: float = DEFAULT_PLATELET_FACTOR
    wbc_factor: float | None = None
    page_size: PageSize = "A4"
    chart: bool = True
    thumbnails: bool = False
    thumbnails_per_class: int = 18
    class_maps: bool = False
    um_per_px: float | None = None
    red_cells: RedCellSummary | None = None


def with_case_models(settings: ReportSettings, case: Case) -> ReportSettings:
    """`settings` naming the models recorded in the case's fields (first seen first), so a
    case analysed with older models says so; unchanged when no field recorded any."""
    seen = dict.fromkeys(m for fld in case.fields for m in fld.models)
    if not seen:
        return settings
    return replace(settings, software=replace(settings.software, models=tuple(seen)))
