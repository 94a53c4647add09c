"""The Report menu: PDF, print with preview, CSV and JSON data, retraining export.

`ReportActions` builds everything from the open case through the report layer
(`hemoscope.report`), with the station's settings (laboratory header, paper, thumbnail
page, estimate factors, reference ranges, target) and the loaded models' cards. Every
file is written atomically: a full disk or a read-only folder gives a clear message
(`problem`) and leaves both the case and any older file as they were.

Where to write is asked through `ask_save` / `ask_folder` (file dialogs by default;
tests pass functions). Reports are laid out on the GUI thread (Qt's text layout), with a
busy cursor; no model runs there (the cell page's heat maps, when asked for, are computed
on Qt's pool first: `report_maps`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication, QPagedPaintDevice
from PySide6.QtPrintSupport import QPrinter, QPrintPreviewDialog
from PySide6.QtWidgets import QFileDialog, QWidget

from hemoscope.core import Case, ModelStamp
from hemoscope.report import (
    CellMapImages,
    Decision,
    ExportError,
    LabInfo,
    ReportContent,
    ReportSettings,
    SoftwareInfo,
    configure_page,
    export_crops,
    export_yolo,
    print_report,
    report_content,
    standing_decisions,
    write_cells_csv,
    write_json,
    write_pdf,
    write_summary_csv,
)
from hemoscope.ui.case.workspace import CaseWorkspace
from hemoscope.ui.report.report_maps import report_maps
from hemoscope.ui.settings.settings_model import StationSettings

__all__ = ["AskFolder", "AskSave", "ReportActions", "report_settings", "safe_file_stem"]

log = logging.getLogger(__name__)

#: ``(title, suggested path, filter) -> chosen path or None``.
AskSave = Callable[[str, Path, str], Path | None]
#: ``(title, suggested folder) -> chosen folder or None``.
AskFolder = Callable[[str, Path], Path | None]


def report_settings(
    station: StationSettings, workspace: CaseWorkspace, cards: Mapping[str, Any]
) -> ReportSettings:
    """The report's settings from the station's and the loaded models' cards."""
    logo = Path(station.lab_logo) if station.lab_logo else None
    return ReportSettings(
        lab=LabInfo(station.lab_name, station.lab_address, logo),
        software=SoftwareInfo(models=tuple(ModelStamp.from_card(c) for c in cards.values() if c)),
        taxonomy=workspace.taxonomy,
        reference=workspace.reference,
        target=workspace.target,
        platelet_factor=station.platelet_factor,
        wbc_factor=station.wbc_factor or None,
        page_size="Letter" if station.page_size == "Letter" else "A4",
        thumbnails=station.report_thumbnails,
        class_maps=station.report_thumbnails and station.report_class_maps,
        um_per_px=station.um_per_px or None,
    )


def safe_file_stem(sample_id: str) -> str:
    """A file name stem from a sample id (no path separators or odd characters)."""
    stem = re.sub(r"[^\w.-]+", "_", sample_id).strip("._")
    return stem or "case"


class ReportActions(QObject):
    message = Signal(str)  # done: for the status bar
    problem = Signal(str)  # could not be done: for the notice banner

    def __init__(
        self,
        *,
        window: QWidget,
        workspace: CaseWorkspace,
        station: Callable[[], StationSettings],
        cards: Callable[[], Mapping[str, Any]],
        ask_save: AskSave | None = None,
        ask_folder: AskFolder | None = None,
    ) -> None:
        super().__init__(window)
        self._window = window
        self.workspace = workspace
        self._station = station
        self._cards = cards
        self._ask_save = ask_save or self._save_dialog
        self._ask_folder = ask_folder or self._folder_dialog
        self.folder = Path.home()
        self.preview: QPrintPreviewDialog | None = None
        self._printer: QPrinter | None = None

    # -- what the report is made of ------------------------------------------------------
    def settings(self) -> ReportSettings:
        return report_settings(self._station(), self.workspace, self._cards())

    def _maps(self, case: Case, settings: ReportSettings) -> CellMapImages | None:
        """The heat maps of the cell page, when the settings ask for them (computed on
        Qt's pool: `report_maps`)."""
        if not settings.class_maps:
            return None
        return report_maps(
            self._window, self.workspace, case, settings.taxonomy, settings.thumbnails_per_class
        )

    def _case(self, what: str) -> Case | None:
        case = self.workspace.case
        if case is None or (not case.fields and not case.manual_counts):
            self.problem.emit(f"{what}: the case is empty (capture fields or count first)")
            return None
        return case

    # -- actions -------------------------------------------------------------------------
    def export_pdf(self) -> Path | None:
        case = self._case("Export PDF")
        if case is None:
            return None
        path = self._ask_save(
            "Export report (PDF)", self._suggest(case, ".pdf"), "PDF files (*.pdf)"
        )
        if path is None:
            return None
        with _busy():
            try:
                settings = self.settings()
                written = write_pdf(
                    case, _with_suffix(path, ".pdf"), settings,
                    images=self.workspace.field_image,
                    sign_off=self.workspace.sign_off, maps=self._maps(case, settings),
                )  # fmt: skip
            except (ExportError, OSError, RuntimeError) as error:
                return self._failed("The report could not be written", error)
        return self._written("Report", written)

    def print_preview(self) -> QPrintPreviewDialog | None:
        """Open the print preview; printing from it renders the report on the printer."""
        if self._case("Print") is None:
            return None
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        configure_page(printer, self.settings().page_size)
        dialog = QPrintPreviewDialog(printer, self._window)
        dialog.setObjectName("printPreview")
        dialog.setWindowTitle("Print report")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.paintRequested.connect(self.render)
        dialog.resize(900, 1000)
        dialog.open()
        # The dialog does not own the printer, and the preview's pages live in it: keep it
        # for as long as the dialog (a printer collected early crashes the preview).
        self.preview, self._printer = dialog, printer
        dialog.destroyed.connect(self._preview_closed)
        return dialog

    def _preview_closed(self) -> None:
        self.preview = self._printer = None

    def render(self, device: QPagedPaintDevice) -> int:
        """Lay the report out on `device` (a printer, the preview's); the page count."""
        case = self.workspace.case
        if case is None:
            return 0
        with _busy():
            try:
                settings = self.settings()
                return print_report(
                    case, device, settings, images=self.workspace.field_image,
                    sign_off=self.workspace.sign_off, maps=self._maps(case, settings),
                )  # fmt: skip
            except (OSError, RuntimeError, ValueError) as error:
                self._failed("The report could not be laid out", error)
                return 0

    def export_csv(self) -> Path | None:
        """Two files: one row per cell, and ``-summary`` with one row per class."""
        case = self._case("Export CSV")
        if case is None:
            return None
        path = self._ask_save("Export cells (CSV)", self._suggest(case, ".csv"), "CSV (*.csv)")
        if path is None:
            return None
        path = _with_suffix(path, ".csv")
        summary = path.with_name(f"{path.stem}-summary.csv")
        try:
            content, decisions = self._data(case)
            write_cells_csv(path, content, decisions)
            write_summary_csv(summary, content)
        except (ExportError, OSError, RuntimeError) as error:
            return self._failed("The CSV files could not be written", error)
        return self._written("Cells and summary", path, also=summary)

    def export_json(self) -> Path | None:
        case = self._case("Export JSON")
        if case is None:
            return None
        path = self._ask_save("Export case (JSON)", self._suggest(case, ".json"), "JSON (*.json)")
        if path is None:
            return None
        try:
            content, decisions = self._data(case)
            written = write_json(_with_suffix(path, ".json"), content, decisions)
        except (ExportError, OSError, RuntimeError) as error:
            return self._failed("The JSON file could not be written", error)
        return self._written("Case data", written)

    def export_retraining(self) -> Path | None:
        """Corrected cells as an ImageFolder of crops (``cells/``) and the fields in YOLO
        layout (``fields/``), for ``hemoscope train`` on this microscope's images."""
        case = self._case("Export for retraining")
        if case is None:
            return None
        folder = self._ask_folder("Export for retraining: choose a folder", self.folder)
        if folder is None:
            return None
        self.folder = folder
        images = self.workspace.field_image
        taxonomy = self.workspace.taxonomy
        with _busy():
            try:
                crops = export_crops(case, images, folder / "cells", taxonomy=taxonomy)
                fields = export_yolo(case, images, folder / "fields", taxonomy=taxonomy)
            except (ExportError, OSError, ValueError) as error:
                return self._failed("The retraining export failed", error)
        self.message.emit(
            f"Exported {crops.crops} corrected cell(s) and {fields.fields} field(s) "
            f"({fields.boxes} boxes) to {folder}"
        )
        return folder

    # -- helpers -------------------------------------------------------------------------
    def _data(self, case: Case) -> tuple[ReportContent, dict[tuple[str, str], Decision]]:
        """What the CSV and JSON exports write: the report's content and, per cell, the
        technician's standing decision from the audit trail."""
        content = report_content(case, self.settings())
        return content, standing_decisions(self.workspace.backend.audit_trail(case))

    def _suggest(self, case: Case, suffix: str) -> Path:
        return self.folder / f"{safe_file_stem(case.info.sample_id)}{suffix}"

    def _written(self, what: str, path: Path, *, also: Path | None = None) -> Path:
        self.folder = path.parent
        extra = f" and {also.name}" if also is not None else ""
        self.message.emit(f"{what} written: {path}{extra}")
        return path

    def _failed(self, what: str, error: BaseException) -> Path | None:
        log.warning("%s: %s", what, error)
        self.problem.emit(f"{what}: {error}. The case is unchanged.")
        return None

    def _save_dialog(self, title: str, suggested: Path, filters: str) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self._window, title, str(suggested), filters)
        return Path(path) if path else None

    def _folder_dialog(self, title: str, suggested: Path) -> Path | None:
        path = QFileDialog.getExistingDirectory(self._window, title, str(suggested))
        return Path(path) if path else None


def _with_suffix(path: Path, suffix: str) -> Path:
    return path if path.suffix.lower() == suffix else path.with_name(path.name + suffix)


class _busy:
    """The wait cursor while a report is laid out."""

    def __enter__(self) -> None:
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)

    def __exit__(self, *exc: object) -> None:
        QGuiApplication.restoreOverrideCursor()
