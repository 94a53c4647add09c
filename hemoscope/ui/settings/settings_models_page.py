"""Settings ▸ Models: the models in use, the laboratory profile in use (its kind: a head
refit from labelled cells or a colour calibration), "Adapt to this microscope…",
"Calibrate colours to this microscope…" and "Use shipped model"; and the review
sensitivity to unfamiliar cells (standard, or stricter for samples where blasts are
suspected). The choices apply when the settings are accepted (``values()``:
``lab_profile``, the profile's file or "" for the shipped model; ``review_sensitivity``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hemoscope.ui.settings.adapt_model import ModelsContext, describe_models, describe_profile
from hemoscope.ui.settings.settings_model import StationSettings
from hemoscope.vision.lab_profile import PROFILE_ROLE
from hemoscope.vision.unfamiliar import SENSITIVITIES

if TYPE_CHECKING:
    from hemoscope.ui.settings.adapt_dialog import AdaptDialog
    from hemoscope.ui.settings.calibrate_dialog import CalibrateDialog

__all__ = ["SENSITIVITY_CHOICES", "ModelsSettingsPage"]

SENSITIVITY_CHOICES = {
    "standard": "Standard",
    "high": "High — blasts or abnormal cells suspected",
    "highest": "Highest",
}
"""What the review sensitivity levels (`vision.unfamiliar.SENSITIVITIES`) are called here."""


class ModelsSettingsPage(QWidget):
    def __init__(
        self,
        settings: StationSettings,
        context: ModelsContext | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("modelsPage")
        self.context = context
        self.lab_profile = settings.lab_profile
        self.dialog: QWidget | None = None
        form = QFormLayout()
        cards = dict(context.cards()) if context is not None else {}
        described = describe_models(cards)
        for role, text in described:
            label = QLabel(text)
            label.setWordWrap(True)
            form.addRow(role.capitalize(), label)
        if not described:
            form.addRow("Models", QLabel("not loaded yet"))
        self.profile = QLabel()
        self.profile.setObjectName("profileInUse")
        self.profile.setWordWrap(True)
        form.addRow("Laboratory profile", self.profile)
        self.adapt = QPushButton("Adapt to this microscope…")
        self.adapt.setObjectName("adaptToMicroscope")
        self.adapt.setEnabled(context is not None)
        self.calibrate = QPushButton("Calibrate colours to this microscope…")
        self.calibrate.setObjectName("calibrateColours")
        self.calibrate.setEnabled(context is not None)
        self.calibrate.setToolTip(
            "No labels needed: maps this microscope's colours to those the classifier was "
            "trained on, from the white cells of every case."
        )
        self.adapt.setToolTip("Needs cells a person confirmed or corrected in signed-off cases.")
        self.shipped = QPushButton("Use shipped model")
        self.shipped.setObjectName("useShippedModel")
        self.adapt.clicked.connect(self.open_adapt)
        self.calibrate.clicked.connect(self.open_calibrate)
        self.shipped.clicked.connect(self.use_shipped)
        buttons = QHBoxLayout()
        buttons.addWidget(self.adapt)
        buttons.addWidget(self.calibrate)
        buttons.addWidget(self.shipped)
        buttons.addStretch(1)
        note = QLabel(
            "A profile is made for these model files and this microscope; it never makes "
            "the unfamiliar-cell flag weaker. One profile is in use at a time: Adapt makes "
            "one from labelled cells (with the colour calibration too where that measures "
            "better), Calibrate colours one from unlabelled cells (the colour calibration, "
            "and the cells as neighbours that vote on each new cell's class); using either "
            "replaces the profile in use. Changes apply when you press OK."
        )
        note.setWordWrap(True)
        self.sensitivity = QComboBox()
        self.sensitivity.setObjectName("reviewSensitivity")
        for level, quantile in SENSITIVITIES.items():
            self.sensitivity.addItem(SENSITIVITY_CHOICES.get(level, level), level)
            self.sensitivity.setItemData(
                self.sensitivity.count() - 1,
                f"Flags about {1 - quantile:.0%} of ordinary cells of the training "
                "laboratory as unfamiliar.",
                Qt.ItemDataRole.ToolTipRole,
            )
        self.sensitivity.setCurrentIndex(
            max(0, self.sensitivity.findData(settings.review_sensitivity))
        )
        sensitivity_note = QLabel(
            "How strictly cells unlike every class the classifier knows are flagged for "
            "review. A cell type it never learnt (blasts among them) looks like the nearest "
            "class it knows: Standard flags a quarter to a half of such cells, High two "
            "thirds or more (and about one ordinary cell in ten), Highest nearly all (and one "
            "ordinary cell in five). Every field records the setting it was analysed with, "
            "and the report names it."
        )
        sensitivity_note.setWordWrap(True)
        review = QFormLayout()
        review.addRow("Review sensitivity", self.sensitivity)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(note)
        layout.addLayout(review)
        layout.addWidget(sensitivity_note)
        layout.addStretch(1)
        self._show()

    def values(self) -> dict[str, str]:
        return {"lab_profile": self.lab_profile, "review_sensitivity": self.review_sensitivity()}

    def review_sensitivity(self) -> str:
        """The review sensitivity chosen (`vision.unfamiliar.SENSITIVITIES`)."""
        return str(self.sensitivity.currentData())

    def use_shipped(self) -> None:
        self.lab_profile = ""
        self._show()

    def open_adapt(self) -> None:
        from hemoscope.ui.settings.adapt_dialog import AdaptDialog

        if self.context is None:
            return
        self._open(AdaptDialog(self.context, parent=self))

    def open_calibrate(self) -> None:
        from hemoscope.ui.settings.calibrate_dialog import CalibrateDialog

        if self.context is None:
            return
        self._open(CalibrateDialog(self.context, parent=self))

    def _open(self, dialog: AdaptDialog | CalibrateDialog) -> None:
        """Open a dialog that makes a profile; the profile it saved is the one chosen."""
        self.dialog = dialog

        def accepted() -> None:
            if dialog.profile_path is not None:
                self.lab_profile = str(dialog.profile_path)
                self._show()

        dialog.accepted.connect(accepted)
        dialog.open()

    def _show(self) -> None:
        profile, text = describe_profile(self.lab_profile)
        self.profile.setText(text)
        self.shipped.setEnabled(bool(self.lab_profile))
        if profile is not None and self.context is not None:
            try:
                cards = self.context.cards()
                profile.check_models({r: c for r, c in cards.items() if r != PROFILE_ROLE})
            except Exception as exc:
                self.profile.setText(f"{text}\nNot usable with the models in use: {exc}")
