"""The hint above the picture when many white cells of the open case are flagged
"Unfamiliar cell" and no laboratory profile is in use: the threshold, a profile in use,
"Not now", "Don't ask again", and its button opening the calibrate dialog."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from ui_helpers import ReportedErrors

from hemoscope.core import (
    REASON_LOW_CONFIDENCE,
    REASON_UNFAMILIAR,
    Box,
    Cell,
    CellKind,
    Field,
    join_reasons,
)
from hemoscope.ui.differential.unfamiliar_hint import (
    BLASTS_TEXT,
    CALIBRATE_TEXT,
    HINT_TEXT,
    UNUSUAL_TEXT,
    UnfamiliarShare,
    unfamiliar_share,
)
from hemoscope.ui.main_window import MainWindow
from hemoscope.ui.settings.calibrate_dialog import CalibrateDialog
from hemoscope.ui.settings.settings_model import StationSettings
from hemoscope.ui.settings.settings_store import SettingsStore

BOTH = join_reasons([REASON_LOW_CONFIDENCE, REASON_UNFAMILIAR])


def wbc(reason: str = "", **changes: object) -> Cell:
    cell = Cell.create(Box(10, 10, 50, 50), CellKind.WBC, auto_class="lymphocyte",
                       probability=0.5, review=bool(reason), review_reason=reason)  # fmt: skip
    return replace(cell, **changes)  # type: ignore[arg-type]


def add_field(win: MainWindow, familiar: int, unfamiliar: int, *, reason: str = "") -> None:
    """Capture a field of `familiar` + `unfamiliar` classified white cells (and a red
    cell and an unclassified white cell, which do not count)."""
    cells = [wbc() for _ in range(familiar)]
    cells += [wbc(reason or REASON_UNFAMILIAR) for _ in range(unfamiliar)]
    cells += [Cell.create(Box(0, 0, 9, 9), CellKind.RBC), wbc(auto_class=None)]
    win.cases.capture(np.zeros((64, 64, 3), np.uint8), Field.create(cells, 64, 64))


def shown(win: MainWindow) -> bool:
    return win.unfamiliar_hint.isVisibleTo(win)


def test_share_counts_classified_white_cells_that_count() -> None:
    assert unfamiliar_share(None) == UnfamiliarShare(0, 0)
    assert not UnfamiliarShare(19, 19).often_unfamiliar
    assert UnfamiliarShare(20, 3).often_unfamiliar  # 15 %
    assert not UnfamiliarShare(20, 2).often_unfamiliar
    assert UnfamiliarShare(40, 6).often_unfamiliar and not UnfamiliarShare(41, 6).often_unfamiliar


def test_shown_at_twenty_cells_fifteen_percent_unfamiliar_and_not_below(
    qtbot: QtBot, window: MainWindow
) -> None:
    win = window
    add_field(win, 9, 10)  # 19 classified, more than half unfamiliar: too few cells
    assert unfamiliar_share(win.workspace.case) == UnfamiliarShare(19, 10)
    assert not shown(win)
    add_field(win, 1, 0)  # 20 cells, 10 unfamiliar
    assert shown(win)
    hint = win.unfamiliar_hint
    assert hint.text.text().startswith(HINT_TEXT) and "10 of the 20 white cells" in hint.text.text()
    assert hint.button.text() == CALIBRATE_TEXT and hint.button.isVisibleTo(win)
    assert hint.button.focusPolicy() == Qt.FocusPolicy.NoFocus  # Space stays "capture"
    add_field(win, 47, 0)  # 67 cells, 10 unfamiliar: 14.9 %, the hint goes
    assert not shown(win)
    add_field(win, 0, 1, reason=BOTH)  # a cell with two reasons counts as unfamiliar
    assert shown(win) and "11 of the 68" in hint.text.text()
    win.cases.undo_stack.undo()  # undone: under 15 % again
    assert not shown(win)


def test_low_confidence_alone_is_not_unfamiliar(window: MainWindow) -> None:
    add_field(window, 0, 30, reason=REASON_LOW_CONFIDENCE)
    assert unfamiliar_share(window.workspace.case) == UnfamiliarShare(30, 0)
    assert not shown(window)


def test_not_shown_with_a_profile_in_use(
    qtbot: QtBot, reported: ReportedErrors, tmp_path: Path
) -> None:
    win = calibrated_window(qtbot, reported, tmp_path, usual=None)
    try:
        add_field(win, 0, 40)
        assert unfamiliar_share(win.workspace.case).often_unfamiliar
        assert not shown(win)
    finally:
        win.close()


def test_a_profile_chosen_but_not_in_use_still_lets_it_speak_and_is_pointed_out(
    qtbot: QtBot, reported: ReportedErrors, tmp_path: Path
) -> None:
    """A profile of Settings ▸ Models that the models cannot take (made for other model
    files, as after an update, or unreadable) leaves the shipped model classifying: the
    hint speaks as without a profile, and a notice says the profile is not in use."""
    from hemoscope.ui.live.station_status import PROFILE_NOT_USED

    store = SettingsStore.at(tmp_path / "profile.ini")
    store.save(StationSettings(lab_profile=str(tmp_path / "made-for-other-models.json")))
    win = MainWindow(error_reporter=reported, settings=store)
    qtbot.addWidget(win)
    win.show()
    try:
        win.worker.cards = {"classifier": {"sha256": "c" * 64}}  # loaded, no profile
        win.presenter.models_ready("classifier c")
        assert win.notice.isVisible()
        assert PROFILE_NOT_USED in win.notice.text.text()
        assert "made-for-other-models.json" in win.notice.text.text()
        # Its button opens Settings on the Models page, which says why.
        from hemoscope.ui.settings.settings_dialog import SettingsDialog

        qtbot.mouseClick(win.notice.button, Qt.MouseButton.LeftButton)
        dialog = win.findChild(SettingsDialog)
        assert dialog is not None and dialog.tabs.tabText(dialog.tabs.currentIndex()) == "Models"
        dialog.reject()
        add_field(win, 0, 40)
        assert shown(win) and HINT_TEXT in win.unfamiliar_hint.text.text()
        # With the profile in use the notice does not come.
        from hemoscope.vision.lab_profile import PROFILE_ROLE

        win.worker.cards = {PROFILE_ROLE: {"name": "lab"}}
        win.presenter.models_ready("classifier c, lab profile")
        assert not win.notice.isVisible()
    finally:
        win.close()


def test_not_now_hides_it_for_the_session(
    qtbot: QtBot, window: MainWindow, settings_store: SettingsStore
) -> None:
    win = window
    add_field(win, 5, 20)
    assert shown(win)
    qtbot.mouseClick(win.unfamiliar_hint.not_now, Qt.MouseButton.LeftButton)
    assert not shown(win)
    win.cases.new_case()  # another case, mostly unfamiliar too
    add_field(win, 0, 25)
    assert not shown(win)
    assert not settings_store.unfamiliar_hint_off()  # the next session asks again


def test_dont_ask_again_is_kept_in_the_settings(
    qtbot: QtBot, reported: ReportedErrors, window: MainWindow, tmp_path: Path
) -> None:
    add_field(window, 0, 20)
    assert shown(window)
    qtbot.mouseClick(window.unfamiliar_hint.never, Qt.MouseButton.LeftButton)
    assert not shown(window)
    # The next session, on the same settings file, never shows it.
    later = MainWindow(
        error_reporter=reported, settings=SettingsStore.at(tmp_path / "settings.ini")
    )
    qtbot.addWidget(later)
    later.show()
    try:
        assert later.settings_store.unfamiliar_hint_off()
        add_field(later, 0, 30)
        assert not shown(later)
    finally:
        later.close()


def test_the_button_opens_the_calibrate_dialog_and_uses_its_calibration(
    qtbot: QtBot,
    window: MainWindow,
    settings_store: SettingsStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    win = window
    add_field(win, 4, 16)
    assert shown(win)
    qtbot.mouseClick(win.unfamiliar_hint.button, Qt.MouseButton.LeftButton)
    dialog = win.calibration_dialog
    assert isinstance(dialog, CalibrateDialog) and dialog.parent() is win
    qtbot.waitUntil(dialog.isVisible)
    # Cases in memory: the dialog says why there is nothing to calibrate from.
    assert "not being saved" in dialog.status.text() and not dialog.run_button.isEnabled()
    assert shown(win)  # still there while the dialog is open
    dialog.reject()  # discarded: nothing changes
    assert win.settings.lab_profile == "" and shown(win)

    # Accepted: the profile it saved is in use at once, and the hint goes for good.
    qtbot.mouseClick(win.unfamiliar_hint.button, Qt.MouseButton.LeftButton)
    dialog = win.calibration_dialog
    profile = tmp_path / "calibration.profile.json"
    applied: list[str] = []

    def use_lab_profile(
        worker: object, notice: object, old: StationSettings, settings: StationSettings
    ) -> StationSettings:
        applied.append(settings.lab_profile)  # loading a real profile needs real models
        # ... and the worker announces the models with it (`InferenceWorker.cards`).
        from hemoscope.vision.lab_profile import PROFILE_ROLE

        win.worker.cards = {PROFILE_ROLE: {"name": "calibration"}}
        return settings

    from hemoscope.ui.settings import model_choices

    monkeypatch.setattr(model_choices, "_use_lab_profile", use_lab_profile)
    dialog.profile_path = profile
    dialog.accept()
    assert applied == [str(profile)]
    assert win.settings.lab_profile == str(profile)
    assert settings_store.load().lab_profile == str(profile)
    assert not shown(win)
    win.apply_settings(replace(win.settings, lab_profile=""))  # back to the shipped model
    add_field(win, 0, 20)
    assert not shown(win)  # not again this session


def calibration_profile(path: Path, usual: float | None) -> Any:
    """A calibration profile, saved, that recorded ``usual`` as its microscope's usual
    unfamiliar share (None: an older profile that did not)."""
    from hemoscope.vision.lab_profile import LabProfile, UsualUnfamiliar

    profile = LabProfile.unlabelled(
        classes=("lymphocyte", "neutrophil"), embedding_size=4, base_temperature=1.0,
        models={"classifier": {"name": "c", "version": "1", "sha256": "x"}}, name="scope",
    )  # fmt: skip
    if usual is not None:
        profile = replace(profile, usual_unfamiliar=UsualUnfamiliar(usual, 500))
    return profile.save(path)


def calibrated_window(
    qtbot: QtBot, reported: ReportedErrors, tmp_path: Path, usual: float | None
) -> MainWindow:
    """The station with that profile in use, as the inference worker announces it once
    loaded (the models' cards, `Pipeline.model_cards`)."""
    from hemoscope.vision.lab_profile import PROFILE_ROLE

    tmp_path.mkdir(parents=True, exist_ok=True)
    store = SettingsStore.at(tmp_path / "calibrated.ini")
    profile = calibration_profile(tmp_path / "lab.profile.json", usual)
    store.save(StationSettings(lab_profile=str(tmp_path / "lab.profile.json")))
    win = MainWindow(error_reporter=reported, settings=store)
    qtbot.addWidget(win)
    win.show()
    win.worker.cards = {PROFILE_ROLE: profile.card()}
    return win


def test_with_a_calibration_a_case_far_above_the_usual_share_suggests_blasts_suspected(
    qtbot: QtBot, reported: ReportedErrors, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    win = calibrated_window(qtbot, reported, tmp_path, usual=0.02)
    try:
        add_field(win, 28, 2)  # 30 cells, 2 unfamiliar: as usual
        assert not shown(win)
        add_field(win, 4, 6)  # 40 cells, 8 unfamiliar (20 % against 2 %)
        assert shown(win)
        hint = win.unfamiliar_hint
        text = hint.text.text()
        assert text.startswith(UNUSUAL_TEXT) and "8 of the 40 white cells" in text
        assert "usually 2% on this microscope" in text
        assert hint.button.text() == BLASTS_TEXT and not hint.never.isVisibleTo(win)
        # The button turns the high review sensitivity on; then the banner goes.
        sensitivities: list[str] = []
        monkeypatch.setattr(win.worker, "set_sensitivity", sensitivities.append)
        qtbot.mouseClick(hint.button, Qt.MouseButton.LeftButton)
        assert sensitivities == ["high"] and win.settings.review_sensitivity == "high"
        assert win.window_actions.blasts_suspected.isChecked()
        assert not shown(win)
        add_field(win, 0, 10)
        assert not shown(win)  # high already: nothing to suggest
    finally:
        win.close()


def test_not_now_quiets_the_unusual_case_hint_for_that_case_only(
    qtbot: QtBot, reported: ReportedErrors, tmp_path: Path
) -> None:
    win = calibrated_window(qtbot, reported, tmp_path, usual=0.02)
    try:
        add_field(win, 10, 10)
        assert shown(win)
        qtbot.mouseClick(win.unfamiliar_hint.not_now, Qt.MouseButton.LeftButton)
        assert not shown(win)
        add_field(win, 0, 10)
        assert not shown(win)  # the same case
        win.cases.new_case()
        add_field(win, 10, 10)
        assert shown(win)  # the next case is looked at again
        assert win.unfamiliar_hint.button.text() == BLASTS_TEXT
    finally:
        win.close()


def test_a_microscope_often_unfamiliar_or_a_profile_without_the_share_says_nothing(
    qtbot: QtBot, reported: ReportedErrors, tmp_path: Path
) -> None:
    often = calibrated_window(qtbot, reported, tmp_path / "a", usual=0.35)
    try:
        add_field(often, 20, 10)  # 33 %: this microscope's usual
        assert not shown(often)
    finally:
        often.close()
    older = calibrated_window(qtbot, reported, tmp_path / "b", usual=None)
    try:
        add_field(older, 10, 20)
        assert not shown(older)  # no usual share recorded: no comparison, no calibration hint
    finally:
        older.close()
