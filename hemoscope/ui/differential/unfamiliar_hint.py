"""A hint for a microscope whose colours the classifier does not know: when many white
cells of the open case are flagged "Unfamiliar cell", suggest Settings ▸ Models ▸
"Calibrate colours to this microscope…" (and say that an abnormal population, blasts
for one, looks the same to the classifier: the cells are to be looked at first).

`unfamiliar_share` counts the open case's classified white cells and those flagged
unfamiliar (cells already in memory; nothing is re-run). `UnfamiliarHint` is a banner
above the picture, shown when no laboratory profile is in use and at least
`MIN_CELLS` classified white cells are in the case, at least `HINT_PERCENT` % of them
unfamiliar. On the training laboratory's microscope about 1 % of the cells are (the
standard threshold is the 99 % quantile of its validation cells); on the two other
laboratories' microscopes 19 % (jiangxi) and 34 % (bionet), and there the calibration
with the laboratory's own cells as neighbours is what helps most (bionet 77 -> 90 %).
It never takes the keyboard (Space stays "capture"). Its buttons:

- "Calibrate colours to this microscope…": `calibrate_requested` (the window opens the
  calibrate dialog with `open_calibration`; the calibration accepted is used at once);
- "Not now": hidden for the rest of the session;
- "Don't ask again": hidden for good (kept in the settings, `SettingsStore`).

Once a profile is in use the calibration hint stays hidden for the rest of the session.
With a profile that measured how often the microscope's ordinary cells are flagged
unfamiliar (`LabProfile.usual_unfamiliar`, read from the models the inference worker
announces: `InferenceWorker.lab_profile_card`), the banner instead says when the open case has
far more of them than usual (`core.unusual`: blasts or other abnormal cells may be
present), at the standard review sensitivity only, and offers "Blasts Suspected: high
review sensitivity" (`blasts_suspected_requested`) for the rest of the case and the
cells captured already (`ui.review.reflag`); "Not now"
hides it for that case.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QBoxLayout, QHBoxLayout, QPushButton, QWidget

from hemoscope.core import Case
from hemoscope.core.unusual import unfamiliar_count, unusual
from hemoscope.ui.settings.settings_store import SettingsStore
from hemoscope.ui.shared.banner import Banner

if TYPE_CHECKING:
    from hemoscope.ui.settings.adapt_model import ModelsContext
    from hemoscope.ui.settings.calibrate_dialog import CalibrateDialog

__all__ = [
    "BLASTS_TEXT",
    "CALIBRATE_TEXT",
    "HINT_PERCENT",
    "HINT_TEXT",
    "MIN_CELLS",
    "UNUSUAL_TEXT",
    "UnfamiliarHint",
    "UnfamiliarShare",
    "open_calibration",
    "unfamiliar_share",
]

MIN_CELLS = 20
"""Classified white cells the case needs before the hint may show."""
HINT_PERCENT = 15
"""Share of the classified white cells, in percent, flagged unfamiliar from which on the
hint shows."""

HINT_TEXT = (
    "Many cells look unfamiliar to the classifier — this microscope's colours may differ "
    "from the training images, or the sample holds cells of a kind the classifier does not "
    "know (blasts, for one): review them before calibrating."
)
CALIBRATE_TEXT = "Calibrate colours to this microscope…"
UNUSUAL_TEXT = (
    "Far more cells than usual on this microscope look unfamiliar to the classifier: "
    "blasts or other abnormal cells may be present, or this smear is stained or focused "
    "unlike the usual ones. Review the flagged cells; the high review sensitivity flags "
    "more of such cells, among those captured already and for the rest of the case."
)
BLASTS_TEXT = "Blasts Suspected: high review sensitivity"


@dataclass(frozen=True, slots=True)
class UnfamiliarShare:
    classified: int = 0  # white cells the classifier named (counted ones)
    unfamiliar: int = 0  # of those, flagged "Unfamiliar cell"

    @property
    def often_unfamiliar(self) -> bool:
        """At least `MIN_CELLS` classified, at least `HINT_PERCENT` % of them unfamiliar."""
        return (
            self.classified >= MIN_CELLS and 100 * self.unfamiliar >= HINT_PERCENT * self.classified
        )


def unfamiliar_share(case: Case | None) -> UnfamiliarShare:
    """The open case's classified white cells (those the tally counts) and how many of
    them carry the unfamiliar reason."""
    return UnfamiliarShare(*unfamiliar_count(case))


class UnfamiliarHint(Banner):
    calibrate_requested = Signal()
    blasts_suspected_requested = Signal()

    def __init__(
        self,
        *,
        store: SettingsStore,
        profile_card: Callable[[], Mapping[str, Any] | None],
        standard_sensitivity: Callable[[], bool] = lambda: True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("unfamiliarHint")
        self.store = store
        self._profile_card = profile_card  # the profile the models announce, or None
        self._standard = standard_sensitivity
        self.dismissed = False  # "Not now", or a profile was in use: for this session
        self.unusual_shown = False  # the "unusual for this microscope" text is up
        self._quiet_case = ""  # "Not now" to that text: not again for this case
        self._case_id = ""  # the case that text is about
        self.button.setObjectName("hintCalibrate")
        self.not_now = self._extra_button("Not now", "hintNotNow", self._not_now)
        self.never = self._extra_button("Don't ask again", "hintNever", self.turn_off)
        # The text across the whole width, the buttons in a row under it.
        layout = self.layout()
        assert isinstance(layout, QBoxLayout)
        layout.removeWidget(self.button)
        layout.setDirection(QBoxLayout.Direction.TopToBottom)
        row = QHBoxLayout()
        row.addStretch(1)
        for button in (self.button, self.not_now, self.never):
            row.addWidget(button)
        layout.addLayout(row)
        self.share = UnfamiliarShare()

    def _extra_button(self, text: str, name: str, slot: Callable[[], None]) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space stays "capture"
        button.clicked.connect(slot)
        return button

    @property
    def wanted(self) -> bool:
        """Not dismissed, not turned off, no profile in use."""
        if not self.dismissed and self._profile_card() is not None:
            self.dismissed = True  # calibrated (or adapted): never again this session
        return not self.dismissed and not self.store.unfamiliar_hint_off()

    def consider(self, case: Case | None) -> None:
        """Show or hide the hint for the open case (after every change to it)."""
        if self._profile_card() is not None:
            self._consider_unusual(case)
            return
        if self.unusual_shown:
            self._hide_unusual()
        if not self.wanted:
            self.dismiss()
            return
        self.share = share = unfamiliar_share(case)
        text = f"{HINT_TEXT} ({share.unfamiliar} of the {share.classified} white cells classified.)"
        if not share.often_unfamiliar:
            self.dismiss()
        elif self.isHidden():
            self.show_message(
                text, level="info", button=CALIBRATE_TEXT, action=self.calibrate_requested.emit
            )
        else:
            self.text.setText(text)

    def _consider_unusual(self, case: Case | None) -> None:
        """With a calibration in use: the case against the microscope's usual share."""
        self.dismissed = True  # the calibration hint: never again this session
        share_of = (self._profile_card() or {}).get("usual_unfamiliar")
        usual = None if share_of is None else float(share_of)
        self.share = share = unfamiliar_share(case)
        wanted = (
            case is not None
            and usual is not None
            and self._standard()
            and case.id != self._quiet_case
            and unusual(share.unfamiliar, share.classified, usual)
        )
        if not wanted:
            if self.unusual_shown:
                self._hide_unusual()
            else:
                self.dismiss()
            return
        assert usual is not None and case is not None
        text = (
            f"{UNUSUAL_TEXT} ({share.unfamiliar} of the {share.classified} white cells "
            f"classified; usually {usual:.0%} on this microscope.)"
        )
        self._case_id = case.id
        if not self.unusual_shown:
            self.show_message(
                text, level="warning", button=BLASTS_TEXT,
                action=self.blasts_suspected_requested.emit,
            )  # fmt: skip
            self.never.setVisible(False)
            self.unusual_shown = True
        else:
            self.text.setText(text)

    def _not_now(self) -> None:
        """The unusual-case text: not again for this case; the calibration hint: not again
        this session."""
        if self.unusual_shown:
            self._quiet_case = self._case_id
            self._hide_unusual()
        else:
            self.hide_for_session()

    def _hide_unusual(self) -> None:
        """Hide the unusual-case text; the "Don't ask again" button is the calibration
        hint's again."""
        self.unusual_shown = False
        self.never.setVisible(True)
        self.dismiss()

    def hide_for_session(self) -> None:
        self.dismissed = True
        self.dismiss()

    def turn_off(self) -> None:
        self.store.turn_unfamiliar_hint_off()
        self.hide_for_session()


def open_calibration(
    parent: QWidget, context: ModelsContext, use: Callable[[Path], None]
) -> CalibrateDialog:
    """Open Settings ▸ Models' calibrate dialog (window-modal, not blocking); the
    calibration it saves goes to `use` (its profile file)."""
    from hemoscope.ui.settings.calibrate_dialog import CalibrateDialog

    dialog = CalibrateDialog(context, parent=parent)

    def accepted() -> None:
        if dialog.profile_path is not None:
            use(dialog.profile_path)

    dialog.accepted.connect(accepted)
    dialog.open()
    return dialog
