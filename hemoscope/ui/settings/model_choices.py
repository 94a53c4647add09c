"""Applying the choices of Settings ▸ Models to the loaded models: the laboratory profile
and the review sensitivity to unfamiliar cells. Each is handed to the inference worker
(which changes the pipeline from the next frame on); one that cannot be used keeps the
previous choice, and the station's notice says why.

`BlastsSuspected` is Count ▸ Blasts Suspected (Ctrl+Shift+B): the high review sensitivity
in one key, for the sample at hand, ticked while any stricter level is in use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from PySide6.QtGui import QAction

from hemoscope.ui.settings.settings_model import StationSettings
from hemoscope.vision.unfamiliar import STANDARD

__all__ = ["BlastsSuspected", "ModelsWorker", "Notice", "apply_model_choices"]


class ModelsWorker(Protocol):
    def set_lab_profile(self, profile: Any) -> None: ...

    def set_sensitivity(self, sensitivity: str) -> None: ...


class Notice(Protocol):
    def show_message(self, text: str, *, level: str = ...) -> Any: ...


def apply_model_choices(
    worker: ModelsWorker, notice: Notice, old: StationSettings, new: StationSettings
) -> StationSettings:
    """Use what changed between ``old`` and ``new``; the settings as applied."""
    if new.lab_profile != old.lab_profile:
        new = _use_lab_profile(worker, notice, old, new)
    if new.review_sensitivity != old.review_sensitivity:
        new = _use_sensitivity(worker, notice, old, new)
    return new


def _use_lab_profile(
    worker: ModelsWorker, notice: Notice, old: StationSettings, new: StationSettings
) -> StationSettings:
    from hemoscope.vision.lab_profile import LabProfile
    from hemoscope.vision.model_card import ModelError

    try:
        profile = LabProfile.load(new.lab_profile) if new.lab_profile else None
        worker.set_lab_profile(profile)
    except (ModelError, RuntimeError) as error:
        notice.show_message(f"Laboratory profile not applied: {error}", level="error")
        return replace(new, lab_profile=old.lab_profile)
    what = (
        f"laboratory profile '{profile.name}' ({profile.kind})" if profile else "the shipped model"
    )
    notice.show_message(f"Classifying with {what} from now on.", level="info")
    return new


def _use_sensitivity(
    worker: ModelsWorker, notice: Notice, old: StationSettings, new: StationSettings
) -> StationSettings:
    from hemoscope.vision.model_card import ModelError

    try:
        worker.set_sensitivity(new.review_sensitivity)
    except (ModelError, RuntimeError) as error:
        notice.show_message(f"Review sensitivity not changed: {error}", level="error")
        return replace(new, review_sensitivity=old.review_sensitivity)
    notice.show_message(
        f"Flagging unfamiliar cells at {new.review_sensitivity} review sensitivity from now on.",
        level="info",
    )
    return new


class BlastsSuspected:
    """The checkable action's side: ticking it applies the high review sensitivity (a
    stricter level already in use stays), unticking it the standard one; it shows the
    settings as applied (ticked while any stricter level is in use)."""

    def __init__(
        self,
        action: QAction,
        settings: Callable[[], StationSettings],
        apply: Callable[[StationSettings], None],
    ) -> None:
        self.action, self._settings, self._apply = action, settings, apply
        self.show(settings())

    def toggled(self) -> None:
        settings = self._settings()
        on = self.action.isChecked()
        if on != (settings.review_sensitivity != STANDARD):
            self._apply(replace(settings, review_sensitivity="high" if on else STANDARD))
        self.show(self._settings())

    def show(self, settings: StationSettings) -> None:
        self.action.blockSignals(True)
        self.action.setChecked(settings.review_sensitivity != STANDARD)
        self.action.blockSignals(False)
