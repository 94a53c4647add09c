"""The cell page with each cell's heat map (Settings ▸ Report, off by default): the maps
are pictures given by the caller; the report lays them beside the cells and names them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pypdf import PdfReader
from report_factories import case_with, images_of
from report_pdf_text import pdf_pages

from hemoscope.report import ReportSettings, build_report, write_pdf

Image = np.ndarray


def _red_map(field_id: str, cell_id: str) -> tuple[Image, str] | None:
    if cell_id == "w1":
        return None  # a cell without a map: its thumbnail alone
    picture = np.zeros((64, 64, 3), np.uint8)
    picture[..., 2] = 255  # red (BGR)
    return picture, "Neutrophil (segmented)"


def _images_on_last_page(path: Path) -> int:
    page = PdfReader(path).pages[-1]
    return len(list(page.images))


def test_cell_page_shows_the_maps_beside_the_cells_when_asked(tmp_path: Path) -> None:
    case = case_with({"neutrophil": 4})
    images = images_of(case).get
    on = ReportSettings(thumbnails=True, class_maps=True)
    with_maps = write_pdf(case, tmp_path / "maps.pdf", on, images=images, maps=_red_map)
    plain = write_pdf(
        case, tmp_path / "plain.pdf", ReportSettings(thumbnails=True), images=images,
        maps=_red_map,
    )  # fmt: skip
    assert _images_on_last_page(with_maps) == 4 + 3  # 4 cells, 3 of them with a map
    assert _images_on_last_page(plain) == 4  # the setting is off: no maps
    text = " ".join(pdf_pages(with_maps)[-1])
    assert text.count("map: Neutrophil (segmented)") == 3
    assert "heat map of its class" in text
    assert "map:" not in " ".join(pdf_pages(plain)[-1])


def test_the_maps_are_the_pictures_given(tmp_path: Path) -> None:
    case = case_with({"neutrophil": 2})
    report = build_report(
        case, ReportSettings(thumbnails=True, class_maps=True), images=images_of(case).get,
        maps=_red_map,
    )  # fmt: skip
    assert 'src="map-0.png"' in report.html and 'src="map-1.png"' not in report.html
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QImage, QTextDocument

    resource = report.document.resource(QTextDocument.ResourceType.ImageResource, QUrl("map-0.png"))
    assert isinstance(resource, QImage) and resource.width() == 64
    colour = resource.pixelColor(10, 10)
    assert (colour.red(), colour.green(), colour.blue()) == (255, 0, 0)


def test_without_maps_nothing_changes() -> None:
    case = case_with({"neutrophil": 2})
    report = build_report(
        case, ReportSettings(thumbnails=True, class_maps=True), images=images_of(case).get
    )
    assert "map-0.png" not in report.html and "heat map" not in report.html
