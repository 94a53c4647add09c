"""The red-cell histogram in the differential panel, and the camera's calibration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pytestqt.qtbot import QtBot
from station_fixtures import Station, capture
from ui_fakes import RBC_BOXES

from hemoscope.core import Box, Case, CaseInfo, Cell, CellKind, Field
from hemoscope.ui.differential.red_cell_histogram import RedCellHistogram, red_cell_caption
from hemoscope.ui.report.report_actions import report_settings
from hemoscope.ui.settings.settings_dialog import SettingsDialog
from hemoscope.ui.settings.settings_model import StationSettings

WHEN = datetime(2026, 1, 5, tzinfo=UTC)
BAR = (198, 40, 40)


def generated_case(diameters: list[float], cut: int = 2) -> Case:
    """One generated 400 x 400 field: red cells of known diameters, ``cut`` more at the
    field's edge (counted, not measured)."""
    cells = [
        Cell(f"r{i}", Box(20 + 60 * (i % 6), 20 + 60 * (i // 6),
                          20 + 60 * (i % 6) + d, 20 + 60 * (i // 6) + d), CellKind.RBC)
        for i, d in enumerate(diameters)
    ]  # fmt: skip
    cells += [Cell(f"e{i}", Box(0, 40 * i, 20, 40 * i + 30), CellKind.RBC) for i in range(cut)]
    return Case(CaseInfo(sample_id="gen"), (Field("f1", tuple(cells), 400, 400, "gen", WHEN),))


DIAMETERS = [28.0] * 4 + [30.0] * 8 + [36.0] * 2  # 7.0, 7.5, 9.0 µm at 0.25 µm per pixel


def bar_pixels(widget: RedCellHistogram) -> int:
    image = widget.grab().toImage()
    step = 2
    return sum(
        image.pixelColor(x, y).getRgb()[:3] == BAR
        for x in range(0, image.width(), step)
        for y in range(0, image.height(), step)
    )


def test_histogram_of_a_generated_field_with_known_diameters(qtbot: QtBot) -> None:
    widget = RedCellHistogram()
    qtbot.addWidget(widget)
    widget.resize(400, 150)
    widget.show()
    qtbot.waitExposed(widget)
    assert bar_pixels(widget) == 0  # nothing yet
    widget.show_case(generated_case(DIAMETERS))
    widget.flush()
    s = widget.summary
    assert s is not None and s.per_field == (16,) and s.n_measured == 14
    assert s.median_px == 30.0 and s.histogram().unit == "px"
    assert widget.bar_counts()[0] == 4 and sum(widget.bar_counts()) == 14
    assert "16.0/field (estimate)" in red_cell_caption(s) and "30.0 px" in widget.toolTip()
    assert bar_pixels(widget) > 50
    widget.show_case(generated_case(DIAMETERS), 0.25)  # calibrated: µm, 0.5 µm bins
    widget.flush()
    assert widget.bar_counts() == (4, 8, 0, 0, 2)
    assert "median ⌀ 7.50 µm" in widget.toolTip()
    widget.show_case(None)
    widget.flush()
    assert widget.bar_counts() == () and widget.toolTip() == "Red cells: no fields yet"


def test_the_panel_shows_the_captured_fields_red_cells(qtbot: QtBot, station: Station) -> None:
    win = station.window
    capture(qtbot, win)
    histogram = win.differential.red_cells
    qtbot.waitUntil(lambda: histogram.summary is not None and histogram.summary.n_fields == 1)
    assert histogram.summary is not None
    assert histogram.summary.per_field == (len(RBC_BOXES),)
    assert histogram.summary.median_px == 50.0  # the fake's red cells are 50 x 50 px
    win.apply_settings(StationSettings(um_per_px=0.15))
    qtbot.waitUntil(lambda: histogram.summary is not None and histogram.summary.um_per_px == 0.15)
    assert histogram.summary.median_um is not None
    assert abs(histogram.summary.median_um - 7.5) < 1e-9


def test_calibration_from_a_stage_micrometer(qtbot: QtBot) -> None:
    dialog = SettingsDialog(StationSettings())
    qtbot.addWidget(dialog)
    assert dialog.calibration.value() == 0.0
    assert dialog.calibration.scale.text() == "not calibrated"
    dialog.calibration.micrometres.setValue(100.0)  # 100 µm of the micrometer
    dialog.calibration.pixels.setValue(640.0)  # span 640 pixels
    dialog.calibration.compute.click()
    chosen = dialog.settings()
    assert chosen is not None and chosen.um_per_px == 0.1562
    back, problems = StationSettings.from_dict(chosen.to_dict())
    assert problems == [] and back.um_per_px == 0.1562
    kept, problems = StationSettings.from_dict({"um_per_px": -1})
    assert kept.um_per_px == 0.0 and problems
    assert SettingsDialog(back).calibration.value() == 0.1562


def test_the_report_gets_the_calibration() -> None:
    from types import SimpleNamespace

    from hemoscope.core import DEFAULT_REFERENCE, DEFAULT_TAXONOMY

    ws: Any = SimpleNamespace(taxonomy=DEFAULT_TAXONOMY, reference=DEFAULT_REFERENCE, target=100)
    assert report_settings(StationSettings(um_per_px=0.2), ws, {}).um_per_px == 0.2
    assert report_settings(StationSettings(), ws, {}).um_per_px is None
