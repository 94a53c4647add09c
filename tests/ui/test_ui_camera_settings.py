"""The camera's resolution: chosen in the settings, asked of the camera when it opens."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from hemoscope.capture.camera import CameraSource
from hemoscope.ui.live.capture_sources import CaptureCatalog
from hemoscope.ui.settings.settings_dialog import SettingsDialog
from hemoscope.ui.settings.settings_model import StationSettings


def test_camera_size_round_trip_and_bad_values() -> None:
    settings = StationSettings(camera_size="1280x960")
    assert settings.camera_resolution() == (1280, 960)
    assert StationSettings().camera_resolution() is None
    back, problems = StationSettings.from_dict(settings.to_dict())
    assert (back, problems) == (settings, [])
    for bad in ("1280", "axb", "10x10"):
        with pytest.raises(ValueError):
            StationSettings(camera_size=bad)
    kept, problems = StationSettings.from_dict({"camera_size": "huge"})
    assert kept.camera_size == "" and problems


def test_the_dialog_offers_sizes_and_the_catalog_asks_for_the_chosen_one(qtbot: QtBot) -> None:
    dialog = SettingsDialog(StationSettings(camera_size="1600x1200"))
    qtbot.addWidget(dialog)
    assert dialog.camera_size.currentData() == "1600x1200"
    dialog.camera_size.setCurrentIndex(dialog.camera_size.findData("1920x1080"))
    chosen = dialog.settings()
    assert chosen is not None and chosen.camera_resolution() == (1920, 1080)

    asked: list[tuple[int, int] | None] = [chosen.camera_resolution()]
    catalog = CaptureCatalog(camera_size=lambda: asked[0])
    camera = catalog._camera_maker(5, "Microscope camera")()
    assert isinstance(camera, CameraSource)
    assert camera._request[:2] == (1920, 1080) and camera.info.width == 1920
    asked[0] = None  # the camera's default: nothing asked
    assert catalog._camera_maker(5, "Microscope camera")()._request[:2] == (None, None)  # type: ignore[attr-defined]
