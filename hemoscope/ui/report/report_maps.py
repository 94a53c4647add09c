"""The heat maps of the report's cell page (Settings ▸ Report: off by default).

The report never runs a model: the maps of the cells its gallery page shows
(`report.thumbnail_cells`) are computed here, by the station's `ClassMapService` on Qt's
pool (the GUI's events go on while the report waits for them), and handed to the report
as pictures: each cell's crop as the classifier saw it, with the heat map of the class it
is shown as (the technician's class when the classifier has a map of it).
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from hemoscope.core import Case, Cell, Taxonomy
from hemoscope.report import CellMapImages, thumbnail_cells
from hemoscope.report.thumbnails import Image
from hemoscope.ui.case.workspace import CaseWorkspace
from hemoscope.ui.review.class_map_overlay import map_class
from hemoscope.ui.review.class_map_service import find_service

__all__ = ["MAP_TIMEOUT_MS", "report_maps"]

MAP_TIMEOUT_MS = 60_000  # at most this long for the maps of one field


def report_maps(
    anchor: QObject, workspace: CaseWorkspace, case: Case, taxonomy: Taxonomy, per_class: int
) -> CellMapImages | None:
    """Pictures of the page's cells with their class's heat map; None without a loaded
    classifier (the page is then without maps). `anchor`: any object of the station's
    window (where the service is found)."""
    service = find_service(anchor)
    if service is None or not service.available:
        return None
    _totals, wanted = thumbnail_cells(case, taxonomy, per_class)
    by_field: dict[str, list[Cell]] = {}
    for chosen in wanted.values():
        for field_id, cell in chosen:
            by_field.setdefault(field_id, []).append(cell)
    fields = {fid: case.get_field(fid) for fid in by_field}
    images = {fid: workspace.field_image(fid) for fid in by_field}
    for fid, cells in by_field.items():  # all on the pool first, then wait for each
        field = fields[fid]
        if field is not None:
            service.request(field, cells, images[fid])
    pictures: dict[tuple[str, str], tuple[Image, str]] = {}
    for fid, cells in by_field.items():
        field = fields[fid]
        if field is None:
            continue
        service.wait(field, cells, images[fid], MAP_TIMEOUT_MS)
        for cell in cells:
            maps = service.maps(fid, cell)
            class_id = map_class(maps, cell, 1) if maps is not None else None
            if maps is None or class_id is None:
                continue
            cls = taxonomy.get(class_id)
            name = cls.display_name if cls is not None else class_id
            bgr = maps.blended(class_id)[..., ::-1].copy()
            pictures[(fid, cell.id)] = (bgr, name)
    return lambda field_id, cell_id: pictures.get((field_id, cell_id))
