"""Keep `StationSettings` in QSettings.

`SettingsStore` wraps one QSettings object: by default the user's (organisation and
application names set by `app.create_application`); tests give one on a temporary INI
file so that they never read or write the technician's real settings. Structured values
(keymap, reference ranges) are stored as JSON text, which reads the same in every
QSettings format.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSettings

from hemoscope.ui.settings.settings_model import StationSettings

__all__ = ["UNFAMILIAR_HINT_OFF", "SettingsStore"]

GROUP = "station"
UNFAMILIAR_HINT_OFF = "hints/unfamiliar_cells_off"
"""``"true"`` once the technician chose "Don't ask again" on the unfamiliar-cells hint."""


class SettingsStore:
    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.qsettings = qsettings if qsettings is not None else QSettings()
        self.problems: list[str] = []

    @classmethod
    def at(cls, path: Path) -> SettingsStore:
        """Settings in an INI file at `path` (tests, portable installations)."""
        return cls(QSettings(str(path), QSettings.Format.IniFormat))

    def load(self) -> StationSettings:
        """The stored settings; defaults for anything missing or damaged (see `problems`)."""
        s = self.qsettings
        s.beginGroup(GROUP)
        try:
            data = {key: s.value(key) for key in s.childKeys()}
        finally:
            s.endGroup()
        settings, self.problems = StationSettings.from_dict(data)
        return settings

    def save(self, settings: StationSettings) -> None:
        s = self.qsettings
        s.beginGroup(GROUP)
        try:
            for key, value in settings.to_dict().items():
                if isinstance(value, dict | list):
                    value = json.dumps(value, sort_keys=True)
                s.setValue(key, value)
        finally:
            s.endGroup()
        s.sync()

    # -- odds and ends the window remembers ------------------------------------------------
    def value(self, key: str, default: str = "") -> str:
        value = self.qsettings.value(key, default)
        return str(value) if value is not None else default

    def set_value(self, key: str, value: str) -> None:
        self.qsettings.setValue(key, value)

    def unfamiliar_hint_off(self) -> bool:
        """The unfamiliar-cells hint was turned off for good ("Don't ask again")."""
        return self.value(UNFAMILIAR_HINT_OFF, "false").lower() == "true"

    def turn_unfamiliar_hint_off(self) -> None:
        self.set_value(UNFAMILIAR_HINT_OFF, "true")
        self.qsettings.sync()
