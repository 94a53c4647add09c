"""Why this class (issue #17, point 2): H shows the class activation map of the selected
cell's class over it, Shift+H the runner-up's; computed off the GUI thread, once per cell;
the caption says whose map it is; the gallery shows them over its thumbnails."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from map_fakes import RUNNER_UP, TOP, MapPipeline
from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot
from station_fixtures import TIMEOUT_MS, Station, capture, make_station
from ui_helpers import ReportedErrors

from hemoscope.core import CellKind

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))
from report_pdf_text import pdf_pages

from hemoscope.ui.review.class_map_service import find_service
from hemoscope.ui.review.gallery_maps import map_thumbnail
from hemoscope.ui.review.gallery_sections import ROLE_KEY
from hemoscope.ui.settings.settings_store import SettingsStore


@pytest.fixture
def mapped(
    qtbot: QtBot, settings_store: SettingsStore, reported: ReportedErrors
) -> Iterator[Station]:
    st = make_station(qtbot, settings_store, reported, pipeline=MapPipeline())
    yield st
    st.window.close()


def _review_first_cell(qtbot: QtBot, st: Station) -> str:
    win = st.window
    field_id = capture(qtbot, win)
    field = win.workspace.field(field_id)
    assert field is not None
    cell = next(c for c in field.cells if c.kind is CellKind.WBC)
    win.review.select(cell.id)
    win.view.setFocus()
    return cell.id


def test_h_shows_the_map_over_the_cell_and_shift_h_the_runner_up(
    qtbot: QtBot, mapped: Station
) -> None:
    win = mapped.window
    cell_id = _review_first_cell(qtbot, mapped)
    overlay = win.review.class_map
    assert not overlay.item.isVisible()
    qtbot.keyClick(win.view, Qt.Key.Key_H)
    qtbot.waitUntil(lambda: overlay.item.isVisible(), timeout=TIMEOUT_MS)
    assert overlay.shown is not None and overlay.shown[1:] == (cell_id, TOP)
    assert "heat map: Neutrophil (segmented) [shown class, 80%]" in win.view.caption
    # computed on a thread of the pool, never on the GUI thread
    classifier = mapped.pipeline.classifier  # type: ignore[attr-defined]
    assert classifier.threads and threading.get_ident() not in classifier.threads
    # over the cell: the overlay covers its box, centred on it, and is hottest in the
    # map's top-left corner (where the fake map peaks)
    field = win.workspace.field(win.review.field_id or "")
    assert field is not None
    cell = field.get(cell_id)
    assert cell is not None
    rect = overlay.item.sceneBoundingRect()
    x1, y1, x2, y2 = cell.box.as_tuple()
    assert rect.left() < x1 and rect.top() < y1 and rect.right() > x2 and rect.bottom() > y2
    assert abs(rect.center().x() - (x1 + x2) / 2) < 1.5
    assert abs(rect.center().y() - (y1 + y2) / 2) < 1.5
    image = overlay.item.pixmap().toImage()
    assert image.width() == 64
    assert image.pixelColor(4, 4).alpha() > 100 and image.pixelColor(60, 60).alpha() == 0
    # Shift+H: the runner-up's map, hottest in the other corner
    qtbot.keyClick(win.view, Qt.Key.Key_H, Qt.KeyboardModifier.ShiftModifier)
    assert overlay.shown is not None and overlay.shown[2] == RUNNER_UP
    assert "heat map: Monocyte [runner-up, 14%]" in win.view.caption
    image = overlay.item.pixmap().toImage()
    assert image.pixelColor(60, 60).alpha() > 100 and image.pixelColor(4, 4).alpha() == 0
    assert classifier.calls == 1  # the cell's maps were cached: one computation
    # the same key again hides the map; H brings the class's back
    qtbot.keyClick(win.view, Qt.Key.Key_H, Qt.KeyboardModifier.ShiftModifier)
    assert not overlay.item.isVisible() and "heat map" not in win.view.caption
    qtbot.keyClick(win.view, Qt.Key.Key_H)
    assert overlay.item.isVisible() and overlay.shown is not None and overlay.shown[2] == TOP
    qtbot.keyClick(win.view, Qt.Key.Key_H)
    assert not overlay.item.isVisible()


def test_the_map_follows_the_selected_cell_and_leaves_with_review(
    qtbot: QtBot, mapped: Station
) -> None:
    win = mapped.window
    first = _review_first_cell(qtbot, mapped)
    overlay = win.review.class_map
    qtbot.keyClick(win.view, Qt.Key.Key_H)
    qtbot.waitUntil(lambda: overlay.item.isVisible(), timeout=TIMEOUT_MS)
    place = overlay.item.pos()
    qtbot.keyClick(win.view, Qt.Key.Key_Right)  # the next cell: its own map, once ready
    assert win.review.cell_id != first
    qtbot.waitUntil(
        lambda: overlay.shown is not None and overlay.shown[1] == win.review.cell_id,
        timeout=TIMEOUT_MS,
    )
    assert overlay.item.pos() != place
    qtbot.keyClick(win.view, Qt.Key.Key_Escape)  # back to live: no map
    assert win.review.mode == "live" and not overlay.item.isVisible()


def test_without_a_classifier_the_caption_says_so(qtbot: QtBot, station: Station) -> None:
    win = station.window
    _review_first_cell(qtbot, station)
    qtbot.keyClick(win.view, Qt.Key.Key_H)
    assert "heat map: no classifier loaded" in win.view.caption
    assert not win.review.class_map.item.isVisible()


def test_gallery_h_shows_the_map_over_the_selected_thumbnail(qtbot: QtBot, mapped: Station) -> None:
    win = mapped.window
    capture(qtbot, win)
    win.gallery_dock.raise_()
    gallery = win.gallery
    gallery.flush()
    assert find_service(gallery) is win.review.class_map.service
    section = gallery.sections[TOP]
    item = section.item(0)
    plain = item.icon().pixmap(gallery.thumb_size).toImage()
    for each in gallery.sections.values():
        each.clearSelection()
    section.setFocus()
    section.setCurrentItem(item)
    item.setSelected(True)
    qtbot.keyClick(section, Qt.Key.Key_H)
    qtbot.waitUntil(lambda: "Neutrophil" in gallery.maps.label.text(), timeout=TIMEOUT_MS)
    assert "shown class" in gallery.maps.label.text()
    item = gallery.sections[TOP].item(0)
    mapped_icon = item.icon().pixmap(gallery.thumb_size).toImage()
    assert mapped_icon.size() == plain.size()
    assert not np.array_equal(_pixels(mapped_icon), _pixels(plain))
    # the crop the classifier saw with the map laid over it, the name in a band at the foot
    key = tuple(item.data(ROLE_KEY))
    assert gallery.maps.shown_on(key) == TOP
    field = win.workspace.field(key[0])
    assert field is not None
    maps = win.review.class_map.service.maps(key[0], field.get(key[1]))
    assert maps is not None
    expected = _pixels(map_thumbnail(maps, TOP, gallery.thumb_size).toImage())
    got = _pixels(mapped_icon)
    top = gallery.thumb_size * 3 // 4  # above the band
    assert np.abs(got[:top] - expected[:top]).mean() < 1.0
    other = gallery.sections[RUNNER_UP].item(0)  # not selected: its plain thumbnail
    assert gallery.maps.shown_on(tuple(other.data(ROLE_KEY))) is None
    qtbot.keyClick(gallery.sections[TOP], Qt.Key.Key_H)
    assert gallery.maps.rank == 0 and gallery.maps.label.text() == ""


def _pixels(image: QImage) -> np.ndarray:
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = rgb.width(), rgb.height()
    data = np.frombuffer(rgb.constBits(), np.uint8, count=rgb.bytesPerLine() * h)
    return data.reshape(h, rgb.bytesPerLine())[:, : w * 3].reshape(h, w, 3).astype(int)


def test_pdf_cell_page_has_the_maps_when_the_setting_is_on(
    qtbot: QtBot, settings_store: SettingsStore, reported: ReportedErrors, tmp_path: Path
) -> None:
    asked: list[Path] = []

    def ask_save(_title: str, _suggested: Path, _filter: str) -> Path:
        asked.append(tmp_path / f"report-{len(asked)}.pdf")
        return asked[-1]

    st = make_station(qtbot, settings_store, reported, pipeline=MapPipeline(), ask_save=ask_save)
    try:
        win = st.window
        capture(qtbot, win)
        settings = win.settings
        assert settings.report_class_maps is False  # off by default
        off = win.report_actions.export_pdf()
        win.apply_settings(replace(settings, report_thumbnails=True, report_class_maps=True))
        on = win.report_actions.export_pdf()
        assert off is not None and on is not None
        classifier = st.pipeline.classifier  # type: ignore[attr-defined]
        assert threading.get_ident() not in classifier.threads  # computed on the pool
    finally:
        st.window.close()
    last_on = " ".join(pdf_pages(on)[-1])
    assert "map: Neutrophil (segmented)" in last_on and "map: Monocyte" in last_on
    assert len(list(PdfReader(on).pages[-1].images)) == 2 * 3  # 3 cells, each with a map
    assert "map:" not in " ".join(pdf_pages(off)[-1])


def test_the_setting_is_kept_and_offered_with_the_cell_page(qtbot: QtBot) -> None:
    from hemoscope.ui.settings.settings_model import StationSettings
    from hemoscope.ui.settings.settings_report_page import ReportSettingsPage

    on = replace(StationSettings(), report_class_maps=True)
    back, problems = StationSettings.from_dict(on.to_dict())
    assert back.report_class_maps is True and not problems
    page = ReportSettingsPage(replace(on, report_thumbnails=False))
    qtbot.addWidget(page)
    assert not page.class_maps.isEnabled()  # no cell page: no maps on it
    page.thumbnails.setChecked(True)
    assert page.class_maps.isEnabled() and page.values()["report_class_maps"] is True
