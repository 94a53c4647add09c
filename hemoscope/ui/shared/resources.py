"""Find the files in resources/ (icons, style sheet), from a checkout or a frozen bundle.

resources/ sits at the top of the repository, beside the `hemoscope` package. In a
PyInstaller bundle the spec copies it to ``<sys._MEIPASS>/resources``; that location is
tried first when the application is frozen.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtGui import QIcon

import hemoscope

__all__ = ["ResourceNotFoundError", "app_icon", "resource_path", "resources_dir", "style_sheet"]

log = logging.getLogger(__name__)

APP_ICON = "icons/hemoscope.svg"
STYLE_SHEET = "styles/hemoscope.qss"


class ResourceNotFoundError(FileNotFoundError):
    """The resources folder, or a file in it, is missing from the installation."""


def candidate_dirs() -> list[Path]:
    """Where resources/ may be, most likely first."""
    candidates = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "resources")
    candidates.append(Path(hemoscope.__file__).resolve().parent.parent / "resources")
    return candidates


def resources_dir() -> Path:
    """The resources folder of this installation."""
    for folder in candidate_dirs():
        if folder.is_dir():
            return folder
    tried = ", ".join(str(p) for p in candidate_dirs())
    raise ResourceNotFoundError(f"HemoScope's resources folder is missing (looked in {tried})")


def resource_path(relative: str) -> Path:
    """The path of a file in resources/, e.g. ``resource_path("icons/hemoscope.svg")``."""
    path = resources_dir() / relative
    if not path.is_file():
        raise ResourceNotFoundError(f"resource file missing: {path}")
    return path


def app_icon() -> QIcon:
    """The application icon; an empty icon (and a warning in the log) if it is missing."""
    try:
        icon = QIcon(str(resource_path(APP_ICON)))
    except ResourceNotFoundError as error:
        log.warning("%s", error)
        return QIcon()
    if icon.isNull():
        log.warning("cannot load the application icon %s", APP_ICON)
    return icon


def style_sheet() -> str:
    """The application's Qt style sheet; empty (and a warning) if it is missing."""
    try:
        return resource_path(STYLE_SHEET).read_text(encoding="utf-8")
    except (ResourceNotFoundError, OSError, UnicodeDecodeError) as error:
        log.warning("no style sheet: %s", error)
        return ""
