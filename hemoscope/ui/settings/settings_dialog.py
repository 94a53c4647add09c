"""Settings ▸ Preferences: keymap (which classes have a key, and which), count target and
alert, reference ranges, camera, report, models (the laboratory profile).

The dialog edits a copy of `StationSettings` and returns the new value from `settings()`
(None while what is typed is invalid: a key bound twice, a low above a high). It does not
save anything itself: the window saves through its `SettingsStore` and applies it.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHeaderView,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from hemoscope.core import (
    DEFAULT_TAXONOMY,
    ReferenceRange,
    ReferenceSet,
    Taxonomy,
    TaxonomyError,
)
from hemoscope.ui.settings.adapt_model import ModelsContext
from hemoscope.ui.settings.settings_calibration import CalibrationField
from hemoscope.ui.settings.settings_model import MAX_TARGET, StationSettings
from hemoscope.ui.settings.settings_models_page import ModelsSettingsPage
from hemoscope.ui.settings.settings_report_page import ReportSettingsPage

__all__ = ["CAMERA_SIZES", "SettingsDialog"]

CAMERA_SIZES = (
    "640x480", "800x600", "1280x720", "1280x960", "1600x1200", "1920x1080", "2048x1536",
    "2592x1944", "3840x2160",
)  # fmt: skip


class SettingsDialog(QDialog):
    def __init__(
        self,
        settings: StationSettings,
        *,
        base: Taxonomy = DEFAULT_TAXONOMY,
        cameras: Mapping[int, str] | None = None,
        models: ModelsContext | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("HemoScope settings")
        self._base = base
        self._original = settings
        taxonomy = settings.taxonomy(base)
        self.tabs = QTabWidget(self)

        # Keys: the laboratory chooses which classes have one (empty: none)
        self.keys: dict[str, QLineEdit] = {}
        keys_page = QWidget()
        keys_layout = QVBoxLayout(keys_page)
        keys_note = QLabel(
            "One key per class. Leave it empty and the class has no key: it is left out of\n"
            "the legend and chosen from the class menu (right-click a cell)."
        )
        keys_note.setObjectName("keysNote")
        keys_layout.addWidget(keys_note)
        keys_grid = QWidget()
        keys_form = QFormLayout(keys_grid)
        for cls in base:
            edit = QLineEdit(taxonomy.key_for(cls.id))
            edit.setObjectName(f"key_{cls.id}")
            edit.setMaxLength(1)
            edit.setFixedWidth(48)
            edit.setAlignment(Qt.AlignmentFlag.AlignCenter)
            edit.setPlaceholderText("none")
            edit.setToolTip(f"The key for {cls.display_name}; empty: no key")
            edit.textChanged.connect(self._validate)
            keys_form.addRow(cls.display_name, edit)
            self.keys[cls.id] = edit
        keys_scroll = QScrollArea()
        keys_scroll.setWidgetResizable(True)
        keys_scroll.setFrameShape(QFrame.Shape.NoFrame)
        keys_scroll.setWidget(keys_grid)
        keys_layout.addWidget(keys_scroll)
        self.tabs.addTab(keys_page, "Keys")

        # Count
        count_page = QWidget()
        count_form = QFormLayout(count_page)
        self.target = QSpinBox()
        self.target.setRange(1, MAX_TARGET)
        self.target.setValue(settings.target)
        self.target.setSuffix(" white cells")
        self.beep = QCheckBox("Beep when the target is reached")
        self.beep.setChecked(settings.beep)
        count_form.addRow("Count target", self.target)
        count_form.addRow("", self.beep)
        self.tabs.addTab(count_page, "Count")

        # Reference ranges
        self.reference_name = QLineEdit(settings.reference.name)
        self.ranges = QTableWidget(0, 3)
        self.ranges.setHorizontalHeaderLabels(["Class", "Low %", "High %"])
        self.ranges.verticalHeader().setVisible(False)
        self.ranges.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self._range_ids: list[str] = []
        for class_id in base.differential_ids():
            rng = settings.reference.get(class_id)
            row = self.ranges.rowCount()
            self.ranges.insertRow(row)
            name = QTableWidgetItem(base[class_id].display_name)
            name.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.ranges.setItem(row, 0, name)
            for col, value in (
                (1, None if rng is None else rng.low),
                (2, None if rng is None else rng.high),
            ):
                spin = QDoubleSpinBox()
                spin.setRange(-1, 100)
                spin.setDecimals(1)
                spin.setSpecialValueText("—")  # -1: no range for this class
                spin.setValue(-1 if value is None else value)
                spin.valueChanged.connect(self._validate)
                self.ranges.setCellWidget(row, col, spin)
            self._range_ids.append(class_id)
        ref_page = QWidget()
        ref_layout = QVBoxLayout(ref_page)
        ref_form = QFormLayout()
        ref_form.addRow("Name", self.reference_name)
        ref_layout.addLayout(ref_form)
        ref_layout.addWidget(self.ranges)
        ref_layout.addWidget(QLabel("Relative ranges in % of white cells; “—” for none."))
        self.tabs.addTab(ref_page, "Reference ranges")

        # Camera
        cam_page = QWidget()
        cam_form = QFormLayout(cam_page)
        self.camera = QComboBox()
        found = dict(cameras or {})
        for index in sorted(set(found) | set(range(4)) | {settings.camera_index}):
            self.camera.addItem(found.get(index, f"Camera {index} (not found now)"), index)
        self.camera.setCurrentIndex(self.camera.findData(settings.camera_index))
        self.camera_size = QComboBox()
        self.camera_size.setObjectName("cameraSize")
        self.camera_size.addItem("The camera's default", "")
        for size in CAMERA_SIZES:
            self.camera_size.addItem(size.replace("x", " × "), size)
        if self.camera_size.findData(settings.camera_size) < 0:
            self.camera_size.addItem(settings.camera_size.replace("x", " × "), settings.camera_size)
        self.camera_size.setCurrentIndex(self.camera_size.findData(settings.camera_size))
        self.threads = QSpinBox()
        self.threads.setRange(0, 64)
        self.threads.setSpecialValueText("automatic")
        self.threads.setValue(settings.inference_threads)
        cam_form.addRow("Camera", self.camera)
        cam_form.addRow("Resolution", self.camera_size)
        cam_form.addRow("Inference threads", self.threads)
        cam_form.addRow(
            "",
            QLabel(
                "Camera and thread changes apply when the source or the\n"
                "application is next started."
            ),
        )
        self.calibration = CalibrationField(settings.um_per_px)
        cam_form.addRow("Scale", self.calibration)
        self.tabs.addTab(cam_page, "Camera")

        # Report
        self.report = ReportSettingsPage(settings)
        self.report.lab_logo.textChanged.connect(self._validate)
        self.tabs.addTab(self.report, "Report")

        # Models (scrolls: a profile's description grows with what it holds)
        self.models = ModelsSettingsPage(settings, models)
        models_scroll = QScrollArea()
        models_scroll.setWidgetResizable(True)
        models_scroll.setFrameShape(QFrame.Shape.NoFrame)
        models_scroll.setWidget(self.models)
        models_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = models_scroll.verticalScrollBar().sizeHint().width()
        models_scroll.setMinimumWidth(self.models.minimumSizeHint().width() + bar)
        self.tabs.addTab(models_scroll, "Models")

        self.problem = QLabel()
        self.problem.setObjectName("settingsProblem")
        self.problem.setStyleSheet(f"color: {QColor('#b42318').name()};")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        defaults = self.buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults)
        if defaults is not None:
            defaults.setText("Default keys")
            defaults.clicked.connect(self._default_keys)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self._validate()

    def show_page(self, name: str) -> None:
        """Open on the tab called ``name`` ("Models"); an unknown name leaves the first."""
        for i in range(self.tabs.count()):
            if self.tabs.tabText(i) == name:
                self.tabs.setCurrentIndex(i)

    def settings(self) -> StationSettings | None:
        """The settings as edited, or None (and the reason shown) while invalid."""
        try:
            keymap = {cid: edit.text().strip() for cid, edit in self.keys.items()}
            taxonomy = self._base.with_keys(keymap)
            reference = ReferenceSet(self.reference_name.text().strip() or "Laboratory", {})
            for row, class_id in enumerate(self._range_ids):
                low, high = (self._spin(row, c).value() for c in (1, 2))
                if low >= 0 and high >= 0:
                    reference = reference.with_range(class_id, ReferenceRange(low, high))
                elif low >= 0 or high >= 0:
                    raise ValueError(f"{self._base[class_id].display_name}: give both bounds")
            edited = StationSettings(
                keymap={},
                target=self.target.value(),
                reference=reference,
                camera_index=int(self.camera.currentData()),
                camera_size=str(self.camera_size.currentData()),
                beep=self.beep.isChecked(),
                inference_threads=self.threads.value(),
                **self.report.values(),
                lab_profile=self.models.lab_profile,
                review_sensitivity=self.models.review_sensitivity(),
                um_per_px=self.calibration.value(),
            )
            if problem := self.report.problem():
                raise ValueError(problem)
            return edited.with_taxonomy_keys(taxonomy, self._base)
        except (TaxonomyError, ValueError) as error:
            self.problem.setText(str(error))
            return None

    def _spin(self, row: int, col: int) -> QDoubleSpinBox:
        widget = self.ranges.cellWidget(row, col)
        assert isinstance(widget, QDoubleSpinBox)
        return widget

    def _validate(self) -> None:
        ok = self.settings() is not None
        if ok:
            self.problem.setText("")
        button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        if button is not None:
            button.setEnabled(ok)

    def _default_keys(self) -> None:
        for cid, edit in self.keys.items():
            edit.setText(self._base.key_for(cid))
