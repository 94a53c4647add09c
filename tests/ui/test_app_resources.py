"""Application set-up, resources, the About text."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from hemoscope import __version__
from hemoscope.ui.app import create_application, light_palette
from hemoscope.ui.shared import resources
from hemoscope.ui.shared.about import about_html
from hemoscope.ui.shared.errors import LoadFailure, summary


def test_resources_found_in_checkout() -> None:
    folder = resources.resources_dir()
    assert (folder / "icons" / "hemoscope.svg").is_file()
    assert resources.resource_path("styles/hemoscope.qss").is_file()


def test_frozen_bundle_location_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "resources" / "icons").mkdir(parents=True)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources.resources_dir() == tmp_path / "resources"
    with pytest.raises(resources.ResourceNotFoundError):
        resources.resource_path("icons/hemoscope.svg")


def test_missing_resources_degrade_gracefully(
    qapp: QApplication, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(resources, "candidate_dirs", lambda: [tmp_path / "nowhere"])
    with pytest.raises(resources.ResourceNotFoundError, match="nowhere"):
        resources.resources_dir()
    assert resources.app_icon().isNull()
    assert resources.style_sheet() == ""


def test_icon_and_style_load(qapp: QApplication) -> None:
    icon = resources.app_icon()
    assert not icon.isNull()
    assert not icon.pixmap(64, 64).isNull()
    assert "QStatusBar" in resources.style_sheet()


def test_create_application_reuses_and_configures(qapp: QApplication) -> None:
    app = create_application()
    assert app is qapp
    assert app.applicationName() == "HemoScope"
    assert app.organizationName() == "HemoScope"
    assert app.applicationVersion() == __version__
    assert not app.windowIcon().isNull()
    assert app.palette().window().color() == light_palette().window().color()


def test_about_credits_the_datasets() -> None:
    text = about_html("9.9")
    assert "HemoScope 9.9" in text
    assert "Acevedo" in text and "Data in Brief</i> 30, 105474 (2020)" in text
    assert "CC BY 4.0" in text
    assert "TXL-PBC" in text and "arXiv:2407.13214" in text and "MIT" in text
    assert "Jiangxi" in text and "Micron</i> 107 (2018)" in text and "GPL-3.0" in text


def test_error_summary() -> None:
    one = [LoadFailure(Path("/x/a.png"), "file not found")]
    assert summary(one) == "Could not open a.png: file not found"
    many = [LoadFailure(Path(f"{i}.png"), "bad") for i in range(5)]
    assert summary(many) == "Could not open 5 files: 0.png, 1.png, 2.png and 2 more"
