"""Settings ▸ Models ▸ "Adapt to this microscope…": a laboratory profile from the case
database's verified cells, with the before/after table, to accept or discard.

The dialog shows how many verified cells (confirmed or corrected, in signed-off cases)
there are per class; "Adapt" runs `adapt_model.run_adaptation` on a thread of its own
(the GUI stays responsive; a progress bar follows it), then shows the shipped model's
and the profile's accuracy per class, measured by cross-validation. "Use this profile"
saves it (`adapt_model.keep_profile`) and accepts the dialog (`profile_path`); a profile
worse than the shipped model cannot be used, and the dialog says why.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hemoscope.ui.settings.adapt_model import (
    AdaptOutcome,
    ModelsContext,
    class_name,
    count_verified,
    keep_profile,
    run_adaptation,
)
from hemoscope.ui.settings.background_job import BackgroundJob

__all__ = ["AdaptDialog"]


class AdaptDialog(QDialog):
    def __init__(self, context: ModelsContext, *, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("adaptDialog")
        self.setWindowTitle("Adapt to this microscope")
        self.context = context
        self.profile_path: Path | None = None
        self.outcome: AdaptOutcome | None = None
        self._job = BackgroundJob("hemoscope-adapt", self)
        self._job.done.connect(self._on_done)

        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.counts = QTableWidget(0, 2)
        self.counts.setObjectName("verifiedCounts")
        self.counts.setHorizontalHeaderLabels(["Class", "Verified cells"])
        self.counts.verticalHeader().setVisible(False)
        self.counts.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.status = QLabel()
        self.status.setObjectName("adaptStatus")
        self.status.setWordWrap(True)
        self.bar = QProgressBar()
        self._job.show_progress(self.status, self.bar)
        self.bar.setVisible(False)
        self.results = QTableWidget(0, 4)
        self.results.setObjectName("beforeAfter")
        self.results.setHorizontalHeaderLabels(["Class", "Cells", "Shipped model", "Profile"])
        self.results.verticalHeader().setVisible(False)
        self.results.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.results.setVisible(False)

        self.buttons = QDialogButtonBox()
        self.adapt_button = QPushButton("Adapt")
        self.adapt_button.setObjectName("adaptRun")
        self.use_button = QPushButton("Use this profile")
        self.use_button.setObjectName("adaptUse")
        self.use_button.setEnabled(False)
        self.discard_button = QPushButton("Discard")
        self.buttons.addButton(self.use_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.discard_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.adapt_button.clicked.connect(self.start)
        self.use_button.clicked.connect(self._use)
        self.discard_button.clicked.connect(self.reject)

        run_row = QHBoxLayout()
        run_row.addWidget(self.adapt_button)
        run_row.addWidget(self.bar, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.counts)
        layout.addLayout(run_row)
        for w in (self.status, self.results, self.buttons):
            layout.addWidget(w)
        self.resize(540, 600)
        self._show_counts()
        rows = self.counts.rowCount()
        header = self.counts.horizontalHeader().height()
        self.counts.setMaximumHeight(header + 4 + self.counts.verticalHeader().length())
        self.counts.setMinimumHeight(header + 4 + min(rows, 3) * 24)

    # -- before ----------------------------------------------------------------------------
    def _show_counts(self) -> None:
        db = self.context.db_path
        if db is None or not db.is_file():
            self.intro.setText(
                "Cases are not being saved in a case database, so there are no verified "
                "cells to learn from."
            )
            self.adapt_button.setEnabled(False)
            return
        try:
            counts = count_verified(db)
        except Exception as exc:  # a damaged database: say so, adapt nothing
            self.intro.setText(f"The case database cannot be read: {exc}")
            self.adapt_button.setEnabled(False)
            return
        self.intro.setText(
            f"HemoScope learns this microscope's stain and camera from the {counts.total} "
            f"cells whose class a person confirmed or corrected in {counts.cases} signed-off "
            "case(s). The shipped model stays as it is; the profile corrects its last layer "
            "and is checked against it on these cells before you decide; where the "
            "microscope's colour calibration measures better under it, the profile keeps "
            "that too. It replaces the profile in use, a colour calibration included."
        )
        for cls, n in counts.per_class.items():
            row = self.counts.rowCount()
            self.counts.insertRow(row)
            self.counts.setItem(row, 0, QTableWidgetItem(class_name(cls)))
            self.counts.setItem(row, 1, QTableWidgetItem(str(n)))
        if counts.total == 0:
            self.status.setText("No verified cells yet: sign off cases first.")
            self.adapt_button.setEnabled(False)

    # -- running ---------------------------------------------------------------------------
    def start(self) -> None:
        """Adapt on a thread of its own."""
        if self._job.started or self.context.db_path is None:
            return
        self.adapt_button.setEnabled(False)
        self.use_button.setEnabled(False)
        db, load = self.context.db_path, self.context.load_pipeline
        self._job.begin(self.bar, lambda say: run_adaptation(db, load, say))

    @property
    def running(self) -> bool:
        return self._job.running

    def _on_done(self, outcome: AdaptOutcome) -> None:
        self.outcome = outcome
        self.bar.setVisible(False)
        skipped = f" ({len(outcome.skipped)} skipped: {'; '.join(outcome.skipped[:3])})"
        skipped = skipped if outcome.skipped else ""
        res = outcome.adaptation
        if res is None:
            self.status.setText(f"No profile: {outcome.error}{skipped}")
            self.adapt_button.setEnabled(True)
            return
        self._fill_results()
        refusal = res.refusal
        if refusal:
            self.status.setText(f"This profile cannot be used: {refusal}.{skipped}")
        else:
            notes = [n for n in (res.profile.review_note(), res.profile.usual_note()) if n]
            self.status.setText(
                f"Measured by {res.method} ({res.seconds:.1f} s): each cell classified by a "
                f"profile fitted without it.{skipped}" + "".join(f"\n{n}" for n in notes)
            )
        self.use_button.setEnabled(not refusal)

    def _fill_results(self) -> None:
        assert self.outcome is not None and self.outcome.adaptation is not None
        res = self.outcome.adaptation
        rows = [
            (class_name(c), str(n), f"{rb:.1%}", f"{res.after.per_class[c][1]:.1%}")
            for c, (n, rb) in res.before.per_class.items()
        ]
        total = str(sum(n for n, _ in res.before.per_class.values()))
        rows.append(("Accuracy", total, f"{res.before.accuracy:.1%}", f"{res.after.accuracy:.1%}"))
        rows.append(
            (
                "Balanced accuracy",
                total,
                f"{res.before.balanced_accuracy:.1%}",
                f"{res.after.balanced_accuracy:.1%}",
            )
        )
        self.results.setRowCount(0)
        for values in rows:
            row = self.results.rowCount()
            self.results.insertRow(row)
            for col, text in enumerate(values):
                self.results.setItem(row, col, QTableWidgetItem(text))
        self.results.setVisible(True)

    # -- after -----------------------------------------------------------------------------
    def _use(self) -> None:
        res = self.outcome.adaptation if self.outcome else None
        if res is None or res.refusal:
            return
        try:
            self.profile_path = keep_profile(res, self.context.profiles_dir)
        except Exception as exc:
            self.status.setText(f"The profile could not be saved: {exc}")
            return
        self.accept()

    def done(self, result: int) -> None:
        self._job.abandon(self._on_done)  # closing mid-run: the work ends, its result dropped
        super().done(result)
