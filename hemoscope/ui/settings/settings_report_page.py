"""The Report page of the settings dialog: laboratory header, paper, pages, factors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from hemoscope.ui.settings.settings_model import PAGE_SIZES, StationSettings

__all__ = ["ReportSettingsPage"]

LOGO_FILTER = "Images (*.png *.jpg *.jpeg *.svg *.bmp);;All files (*)"


class ReportSettingsPage(QWidget):
    def __init__(self, settings: StationSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lab_name = QLineEdit(settings.lab_name)
        self.lab_name.setObjectName("labName")
        self.lab_name.setPlaceholderText("printed at the top of every report")
        self.lab_address = QLineEdit(settings.lab_address)
        self.lab_logo = QLineEdit(settings.lab_logo)
        self.lab_logo.setPlaceholderText("no logo")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_logo)
        logo_row = QHBoxLayout()
        logo_row.addWidget(self.lab_logo, 1)
        logo_row.addWidget(browse)
        self.page_size = QComboBox()
        self.page_size.addItems(list(PAGE_SIZES))
        self.page_size.setCurrentText(settings.page_size)
        self.thumbnails = QCheckBox("Add a page of cell images per class")
        self.thumbnails.setChecked(settings.report_thumbnails)
        self.class_maps = QCheckBox("Show each cell's heat map of its class on that page")
        self.class_maps.setObjectName("reportClassMaps")
        self.class_maps.setToolTip(
            "Beside each cell, where the classifier saw the evidence for its class (the "
            "class activation map); computed when the report is made"
        )
        self.class_maps.setChecked(settings.report_class_maps)
        self.class_maps.setEnabled(settings.report_thumbnails)
        self.thumbnails.toggled.connect(self.class_maps.setEnabled)
        self.platelet_factor = _factor(settings.platelet_factor, minimum=1.0)
        self.wbc_factor = _factor(settings.wbc_factor, minimum=0.0)
        self.wbc_factor.setSpecialValueText("not set (no WBC estimate)")
        form = QFormLayout(self)
        form.addRow("Laboratory", self.lab_name)
        form.addRow("Address", self.lab_address)
        form.addRow("Logo", logo_row)
        form.addRow("Paper", self.page_size)
        form.addRow("", self.thumbnails)
        form.addRow("", self.class_maps)
        form.addRow("Platelet factor", self.platelet_factor)
        form.addRow("WBC factor", self.wbc_factor)
        note = QLabel(
            "Smear estimates are cells per field × factor (per µL). The factors depend on\n"
            "the microscope: check them against analyser counts before use."
        )
        form.addRow("", note)

    def values(self) -> dict[str, Any]:
        """The page's part of `StationSettings`, as keyword arguments."""
        return {
            "lab_name": self.lab_name.text().strip(),
            "lab_address": self.lab_address.text().strip(),
            "lab_logo": self.lab_logo.text().strip(),
            "page_size": self.page_size.currentText(),
            "report_thumbnails": self.thumbnails.isChecked(),
            "report_class_maps": self.class_maps.isChecked(),
            "platelet_factor": self.platelet_factor.value(),
            "wbc_factor": self.wbc_factor.value(),
        }

    def problem(self) -> str:
        """What is wrong on this page ("" when nothing)."""
        logo = self.lab_logo.text().strip()
        if logo and not Path(logo).is_file():
            return f"Logo: no file {logo}"
        return ""

    def _choose_logo(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Laboratory logo", "", LOGO_FILTER)
        if path:
            self.lab_logo.setText(path)


def _factor(value: float, *, minimum: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(minimum, 1_000_000.0)
    spin.setDecimals(0)
    spin.setSingleStep(500.0)
    spin.setGroupSeparatorShown(True)
    spin.setSuffix(" /µL")
    spin.setValue(value)
    return spin
