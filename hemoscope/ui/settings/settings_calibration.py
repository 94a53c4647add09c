"""The camera's scale in Settings ▸ Camera: µm per image pixel, typed or measured.

A stage micrometer photographed through the microscope gives it: N µm of its scale span
M pixels in the image, so the scale is N / M µm per pixel. 0 means not calibrated: the
red-cell diameters are then given in pixels only.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hemoscope.core import um_per_px_from_micrometer

__all__ = ["CalibrationField"]


class CalibrationField(QWidget):
    """The scale (``value()``, µm per pixel, 0: not calibrated) and the stage-micrometer
    calculator that fills it in."""

    def __init__(self, um_per_px: float = 0.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scale = QDoubleSpinBox()
        self.scale.setObjectName("umPerPixel")
        self.scale.setRange(0.0, 100.0)
        self.scale.setDecimals(4)
        self.scale.setSingleStep(0.01)
        self.scale.setSuffix(" µm per pixel")
        self.scale.setSpecialValueText("not calibrated")
        self.scale.setValue(um_per_px)
        self.scale.setToolTip(
            "The camera's scale: red-cell diameters are shown in µm (station, report) from OK"
        )
        self.micrometres = QDoubleSpinBox()
        self.micrometres.setObjectName("micrometerUm")
        self.micrometres.setRange(1.0, 10_000.0)
        self.micrometres.setDecimals(1)
        self.micrometres.setValue(100.0)
        self.micrometres.setSuffix(" µm")
        self.pixels = QDoubleSpinBox()
        self.pixels.setObjectName("micrometerPx")
        self.pixels.setRange(1.0, 100_000.0)
        self.pixels.setDecimals(1)
        self.pixels.setValue(400.0)
        self.pixels.setSuffix(" px")
        self.compute = QPushButton("Use")
        self.compute.setObjectName("micrometerUse")
        self.compute.setToolTip("Set the scale from the stage micrometer: µm ÷ pixels")
        self.compute.clicked.connect(self._from_micrometer)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Stage micrometer:"))
        row.addWidget(self.micrometres)
        row.addWidget(QLabel("span"))
        row.addWidget(self.pixels)
        row.addWidget(self.compute)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scale)
        layout.addLayout(row)

    def value(self) -> float:
        return float(self.scale.value())

    def _from_micrometer(self) -> None:
        um = um_per_px_from_micrometer(self.micrometres.value(), self.pixels.value())
        self.scale.setValue(round(um, 4))
