"""Settings ▸ Models ▸ "Calibrate colours to this microscope…": a laboratory profile
without labels (the microscope's colour calibration and its white cells as neighbours)
from the white cells of every case in the case database, to accept or discard.

"Calibrate" runs `calibrate_model.run_calibration` on a thread of its own (the GUI stays
responsive; a progress bar follows it), then shows what it found: how many white cells,
this microscope's mean colour beside the training crops' (two swatches), the gain of
each channel and how many cells it keeps as neighbours. "Use this calibration" saves the
profile where adapted profiles are kept (`adapt_model.save_profile`) and accepts the
dialog (`profile_path`); "Discard" leaves everything as it was.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hemoscope.ui.settings.adapt_model import ModelsContext, save_profile
from hemoscope.ui.settings.background_job import BackgroundJob
from hemoscope.ui.settings.calibrate_model import (
    CalibrationOutcome,
    card_problem,
    hex_colour,
    run_calibration,
)
from hemoscope.vision.colour_calibration import MIN_CELLS
from hemoscope.vision.lab_neighbours import MAX_BANK, MIN_BANK

__all__ = ["CalibrateDialog"]

EXPLANATION = (
    "Every microscope's lamp, camera and stain shift the colours the classifier sees. "
    "This maps this microscope's colours to those the classifier was trained on, from the "
    "white cells of every case in the case database (signed off or not; no labels "
    f"needed, at least {MIN_CELLS} cells). It changes no labels already given, and the "
    "model itself stays as it is. It also keeps those cells (up to "
    f"{MAX_BANK}, at least {MIN_BANK}) as this microscope's neighbours: each new cell's "
    "class is weighed with the classes of the most similar cells seen here, so that "
    "scattered errors are outvoted. More cells are then flagged for review, and those "
    "left unflagged are more often right. Using it replaces the laboratory profile in "
    "use, a profile made from labelled cells (Adapt to this microscope) included."
)


class CalibrateDialog(QDialog):
    def __init__(self, context: ModelsContext, *, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("calibrateDialog")
        self.setWindowTitle("Calibrate colours to this microscope")
        self.context = context
        self.profile_path: Path | None = None
        self.outcome: CalibrationOutcome | None = None
        self._job = BackgroundJob("hemoscope-calibrate", self)
        self._job.done.connect(self._on_done)

        self.intro = QLabel(EXPLANATION)
        self.intro.setWordWrap(True)
        self.status = QLabel()
        self.status.setObjectName("calibrateStatus")
        self.status.setWordWrap(True)
        self.bar = QProgressBar()
        self._job.show_progress(self.status, self.bar)
        self.bar.setVisible(False)
        self.found = QWidget()
        self.found.setObjectName("calibrationFound")
        self.found.setVisible(False)
        grid = QGridLayout(self.found)
        self.lab_swatch, self.ref_swatch = QLabel(), QLabel()
        self.lab_text, self.ref_text = QLabel(), QLabel()
        self.gains = QLabel()
        self.gains.setObjectName("calibrationGains")
        for row, (name, swatch, text) in enumerate(
            (
                ("This microscope", self.lab_swatch, self.lab_text),
                ("Training crops", self.ref_swatch, self.ref_text),
            )
        ):
            swatch.setFixedSize(56, 28)
            grid.addWidget(QLabel(name), row, 0)
            grid.addWidget(swatch, row, 1)
            grid.addWidget(text, row, 2)
        grid.addWidget(QLabel("Gains"), 2, 0)
        grid.addWidget(self.gains, 2, 1, 1, 2)
        self.neighbours = QLabel()
        self.neighbours.setObjectName("calibrationNeighbours")
        self.neighbours.setWordWrap(True)
        grid.addWidget(QLabel("Neighbours"), 3, 0)
        grid.addWidget(self.neighbours, 3, 1, 1, 2)
        grid.setColumnStretch(2, 1)

        self.buttons = QDialogButtonBox()
        self.run_button = QPushButton("Calibrate")
        self.run_button.setObjectName("calibrateRun")
        self.use_button = QPushButton("Use this calibration")
        self.use_button.setObjectName("calibrateUse")
        self.use_button.setEnabled(False)
        self.discard_button = QPushButton("Discard")
        self.buttons.addButton(self.use_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.discard_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.run_button.clicked.connect(self.start)
        self.use_button.clicked.connect(self._use)
        self.discard_button.clicked.connect(self.reject)

        run_row = QHBoxLayout()
        run_row.addWidget(self.run_button)
        run_row.addWidget(self.bar, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(run_row)
        for w in (self.status, self.found):
            layout.addWidget(w)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.resize(560, 470)
        self._check()

    # -- before ----------------------------------------------------------------------------
    def _check(self) -> None:
        """Say at once why there is nothing to calibrate, when that is known."""
        db = self.context.db_path
        problem = ""
        if db is None or not db.is_file():
            problem = (
                "Cases are not being saved in a case database, so there are no white cells "
                "of this microscope to calibrate from."
            )
        else:
            problem = card_problem(self.context.cards().get("classifier"))
        if problem:
            self.status.setText(problem)
            self.run_button.setEnabled(False)

    # -- running ---------------------------------------------------------------------------
    def start(self) -> None:
        """Calibrate on a thread of its own."""
        if self._job.started or self.context.db_path is None:
            return
        self.run_button.setEnabled(False)
        self.use_button.setEnabled(False)
        self.found.setVisible(False)
        db, load = self.context.db_path, self.context.load_pipeline
        self._job.begin(self.bar, lambda say: run_calibration(db, load, say))

    @property
    def running(self) -> bool:
        return self._job.running

    def _on_done(self, outcome: CalibrationOutcome) -> None:
        self.outcome = outcome
        self.bar.setVisible(False)
        skipped = f" ({len(outcome.skipped)} skipped: {'; '.join(outcome.skipped[:3])})"
        skipped = skipped if outcome.skipped else ""
        cal = outcome.calibration
        if cal is None:
            self.status.setText(f"No calibration: {outcome.error}{skipped}")
            self.run_button.setEnabled(True)
            return
        self.status.setText(
            f"Found {outcome.cells} white cells in {outcome.cases} case(s).{skipped}"
        )
        for swatch, text, mean, std in (
            (self.lab_swatch, self.lab_text, cal.lab_mean, cal.lab_std),
            (self.ref_swatch, self.ref_text, cal.reference.mean, cal.reference.std),
        ):
            swatch.setStyleSheet(
                f"background-color: {hex_colour(mean)}; border: 1px solid palette(mid);"
            )
            swatch.setToolTip(hex_colour(mean))
            text.setText(f"mean R G B {_three(mean)}, spread {_three(std)}")
        self.gains.setText(
            "R G B " + " ".join(f"{g:.2f}" for g in cal.gains()) + "  (1.00: unchanged)"
        )
        self.neighbours.setText(neighbours_text(outcome))
        self.found.setVisible(True)
        self.use_button.setEnabled(True)

    # -- after -----------------------------------------------------------------------------
    def _use(self) -> None:
        profile = self.outcome.profile if self.outcome else None
        if profile is None:
            return
        try:
            self.profile_path = save_profile(profile, self.context.profiles_dir)
        except Exception as exc:
            self.status.setText(f"The calibration could not be saved: {exc}")
            return
        self.accept()

    def done(self, result: int) -> None:
        self._job.abandon(self._on_done)  # closing mid-run: the work ends, its result dropped
        super().done(result)


def neighbours_text(outcome: CalibrationOutcome) -> str:
    nb = outcome.profile.neighbours if outcome.profile is not None else None
    if nb is None:
        return (
            f"none yet: {outcome.cells} white cells, at least {MIN_BANK} are needed; "
            "calibrate again once the cases hold more"
        )
    usual = outcome.profile.usual_note() if outcome.profile is not None else ""
    return f"{nb.rule()}. {usual}" if usual else nb.rule()


def _three(values: tuple[float, float, float]) -> str:
    return " ".join(f"{v:.0f}" for v in values)
