"""HemoScope's main window, the microscope station: it composes, it does not contain.

Parts (each in its own module, each given its collaborators):

- the picture (`StationView`) with the banners above it and the key legend below it;
  the manual counter (`ManualCountPanel`) takes its place in manual count mode;
- the running differential (`DifferentialPanel`), the cell gallery (`CellGallery`) and
  the cell map (`CellMapPanel`) in tabbed docks, and the opened images (`ImageStrip`)
  in another;
- `LiveController` (source, frame timer, inference results), `InferenceWorker` (the
  models, on their own thread), `CaseController` (every change to the case, one undo
  stack, saved by the case backend), `ReviewController` (modes and keys), `FilesSource`
  (opened images as a source), `CaseActions` (the Case menu: new, open, details,
  sign-off, reopen) and `ReportActions` (the Report menu: PDF, print, CSV, JSON,
  retraining export).

This module wires them: signals to slots, menus to actions, settings to parts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QCursor, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from hemoscope.capture.source import FrameSource
from hemoscope.core import STANDARD_SENSITIVITY, Box, Tally
from hemoscope.ui.actions import ClassKeys, WindowActions, build_menus
from hemoscope.ui.case.case_actions import CaseActions
from hemoscope.ui.case.case_backend import CaseBackend
from hemoscope.ui.case.case_controller import CaseController
from hemoscope.ui.case.workspace import CaseWorkspace
from hemoscope.ui.cellmap.map_panel import CellMapPanel
from hemoscope.ui.differential.differential_panel import DifferentialPanel
from hemoscope.ui.differential.unfamiliar_hint import UnfamiliarHint, open_calibration
from hemoscope.ui.images.files import FilesSource
from hemoscope.ui.images.image_loader import ImageLoader
from hemoscope.ui.images.image_session import ImageSession
from hemoscope.ui.images.image_strip import ImageStrip
from hemoscope.ui.images.open_dialogs import OpenDialogs, local_paths
from hemoscope.ui.live.capture_sources import BestSourceOpener, source_key
from hemoscope.ui.live.inference import Analyzer, InferenceWorker
from hemoscope.ui.live.live import LiveController
from hemoscope.ui.live.source_menu import SourceCatalog, SourceMenu
from hemoscope.ui.live.station_status import StationStatus
from hemoscope.ui.report.report_actions import AskFolder, AskSave, ReportActions
from hemoscope.ui.review.class_menu import ask_class_with_menu
from hemoscope.ui.review.gallery import CellGallery
from hemoscope.ui.review.manual_count import ManualCountPanel
from hemoscope.ui.review.reflag import EarlierCells
from hemoscope.ui.review.review import AskClass, ReviewController
from hemoscope.ui.settings.model_choices import BlastsSuspected, apply_model_choices
from hemoscope.ui.settings.settings_model import StationSettings
from hemoscope.ui.settings.settings_store import SettingsStore
from hemoscope.ui.shared.about import show_about
from hemoscope.ui.shared.banner import Banner
from hemoscope.ui.shared.errors import ErrorReporter, MessageBoxErrorReporter
from hemoscope.ui.shared.legend import KeyLegend
from hemoscope.ui.shared.status import StationStatusBar
from hemoscope.ui.station_view import StationView

if TYPE_CHECKING:
    from hemoscope.ui.settings.adapt_model import ModelsContext

__all__ = ["MainWindow"]

log = logging.getLogger(__name__)

APP_TITLE = "HemoScope"


class MainWindow(QMainWindow):
    """The station. Every collaborator may be passed in (tests do); by default there is no
    source (choose one from the Source menu), no models, and the case lives in memory."""

    load_finished = Signal(int, list)  # batch number, list[LoadFailure], after reporting
    image_shown = Signal(int)  # index in the session of the image now on screen
    target_alert = Signal(object)  # Tally, when the count reaches the target

    def __init__(
        self,
        *,
        source: FrameSource | None = None,
        sources: SourceCatalog | None = None,
        pipeline: Analyzer | None = None,
        pipeline_factory: Callable[[], Analyzer] | None = None,
        force_sync: bool = False,
        backend: CaseBackend | None = None,
        settings: SettingsStore | None = None,
        loader: ImageLoader | None = None,
        session: ImageSession | None = None,
        error_reporter: ErrorReporter | None = None,
        ask_class: AskClass | None = None,
        ask_save: AskSave | None = None,
        ask_folder: AskFolder | None = None,
        beep: Callable[[], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.settings_store = settings if settings is not None else SettingsStore()
        self.settings = self.settings_store.load()
        taxonomy = self.settings.taxonomy()
        self._beep = beep if beep is not None else QApplication.beep
        self._report = (
            error_reporter if error_reporter is not None else MessageBoxErrorReporter(self)
        )
        self._file_title = ""
        self._closed = False
        self._opener: BestSourceOpener | None = None

        # the case
        self.workspace = CaseWorkspace(
            backend=backend, taxonomy=taxonomy, target=self.settings.target,
            reference=self.settings.reference,
        )  # fmt: skip
        self.cases = CaseController(workspace=self.workspace, parent=self)

        # widgets
        self.view = StationView(taxonomy=taxonomy, parent=self)
        self.manual = ManualCountPanel(taxonomy=taxonomy, parent=self)
        self.source_banner = Banner(self)
        self.notice = Banner(self)
        self.unfamiliar_hint = UnfamiliarHint(
            store=self.settings_store, profile_card=lambda: self.worker.lab_profile_card,
            standard_sensitivity=lambda: self.settings.review_sensitivity == STANDARD_SENSITIVITY,
            parent=self,
        )  # fmt: skip
        self.legend = KeyLegend(taxonomy=taxonomy, parent=self)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.manual)
        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        for widget in (self.source_banner, self.notice, self.unfamiliar_hint):
            column.addWidget(widget)
        column.addWidget(self.stack, 1)
        column.addWidget(self.legend)
        self.setCentralWidget(central)
        self.status = StationStatusBar(self)
        self.setStatusBar(self.status)
        self.differential = DifferentialPanel(
            taxonomy=taxonomy, reference=self.settings.reference, parent=self
        )
        self.gallery = CellGallery(
            taxonomy=taxonomy, image_of=self.workspace.field_image, parent=self
        )
        self.cell_map = CellMapPanel(
            taxonomy=taxonomy, image_of=self.workspace.field_image, parent=self
        )
        self.strip = ImageStrip(self)
        self.images_dock = self._dock(
            "Images", "imagesDock", self.strip, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.images_dock.setVisible(False)  # shown when images are opened
        self.differential_dock = self._dock(
            "Differential",
            "differentialDock",
            self.differential,
            Qt.DockWidgetArea.RightDockWidgetArea,
        )
        self.gallery_dock = self._dock(
            "Cells", "galleryDock", self.gallery, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.cell_map_dock = self._dock(
            "Cell map", "cellMapDock", self.cell_map, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.tabifyDockWidget(self.differential_dock, self.gallery_dock)
        self.tabifyDockWidget(self.gallery_dock, self.cell_map_dock)
        self.differential_dock.raise_()
        for panel in (self.differential, self.gallery, self.cell_map):
            panel.setMinimumWidth(400)
        self.resizeDocks([self.differential_dock], [440], Qt.Orientation.Horizontal)

        # controllers
        self.worker = InferenceWorker(
            pipeline=pipeline, pipeline_factory=pipeline_factory, force_sync=force_sync, parent=self
        )
        self.live = LiveController(view=self.view, worker=self.worker, parent=self)
        self.review = ReviewController(
            view=self.view, live=self.live, cases=self.cases,
            ask_class=ask_class if ask_class is not None else self._ask_class, parent=self,
        )  # fmt: skip
        self.session = session if session is not None else ImageSession()
        self.loader = loader if loader is not None else ImageLoader(parent=self)
        self.files = FilesSource(
            loader=self.loader, session=self.session, strip=self.strip, live=self.live,
            status=self.status, report=self._report, on_title=self._set_file_title, parent=self,
        )  # fmt: skip
        self.case_actions = CaseActions(
            window=self, cases=self.cases, leave_review=self._leave_for_case,
            review_flagged=self._review_flagged,
        )  # fmt: skip
        self.report_actions = ReportActions(
            window=self, workspace=self.workspace, station=lambda: self.settings,
            cards=lambda: self.worker.cards, ask_save=ask_save, ask_folder=ask_folder,
        )  # fmt: skip
        self.dialogs = OpenDialogs(self, open_paths=self.open_paths, open_video=self._open_video)
        self.class_keys = ClassKeys(self, self._class_key)
        self.class_keys.bind(taxonomy)
        self.window_actions = self._build_menus()
        self.blasts_suspected = BlastsSuspected(
            self.window_actions.blasts_suspected, lambda: self.settings, self.apply_settings
        )
        self.source_menu = SourceMenu(
            self.window_actions, sources, choose=self.set_source, parent=self
        )
        self.earlier_cells = EarlierCells(
            case=lambda: self.workspace.case, worker=self.worker,
            flag=self.cases.flag_unfamiliar_all,
            announce=lambda text: self.notice.show_message(text, level="info"), parent=self,
        )  # fmt: skip
        self.presenter = StationStatus(
            status=self.status, source_banner=self.source_banner, notice=self.notice,
            live=self.live, worker=self.worker, cases=self.cases, review=self.review,
            fields_count=self._fields_count,
            profile_wanted=lambda: self.settings.lab_profile,
            open_settings=lambda: self.open_settings("Models"),
            parent=self,
        )  # fmt: skip
        self._wire()
        self.setAcceptDrops(True)
        self.view.viewport().setAcceptDrops(False)
        self.resize(1400, 900)
        self._update_title()
        self._update_case_actions()
        self._show_tally(self.workspace.tally())
        self.worker.start()
        self.live.start()
        if source is not None:
            self.set_source(source)
        else:
            self.view.set_placeholder(
                "No source: choose one in the Source menu,\nor open images (Ctrl+O)"
            )

    # -- wiring --------------------------------------------------------------------------
    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(area, dock)
        return dock

    def _wire(self) -> None:
        self.files.load_finished.connect(self.load_finished)
        self.files.image_shown.connect(self.image_shown)
        self.files.activated.connect(self._files_activated)
        self.view.zoom_changed.connect(self.status.show_zoom)
        self.cases.case_changed.connect(self._case_changed)
        self.cases.tally_changed.connect(self._show_tally)
        self.cases.target_reached.connect(self._target_reached)
        self.review.mode_changed.connect(self._mode_changed)
        self.review.message.connect(lambda text: self.status.showMessage(text, 6000))
        self.review.counted.connect(self.manual.flash)
        self.review.selection_changed.connect(self._selection_changed)
        self.differential.target_changed.connect(self._target_changed)
        self.differential.sample_id_edited.connect(self.case_actions.rename)
        self.differential.editing_done.connect(self.view.setFocus)
        self.gallery.relabel_requested.connect(self.cases.relabel_all)
        self.gallery.cell_activated.connect(self._show_cell)
        self.cell_map.relabel_requested.connect(self.cases.relabel_all)
        self.cell_map.cell_activated.connect(self._show_cell_from_map)
        self.review.selection_changed.connect(self.cell_map.follow)
        self.unfamiliar_hint.calibrate_requested.connect(self.calibrate_colours)
        self.unfamiliar_hint.blasts_suspected_requested.connect(
            self.window_actions.blasts_suspected.trigger
        )
        self.gallery_dock.visibilityChanged.connect(self._gallery_shown)
        self.manual.undo_requested.connect(self.cases.undo_stack.undo)
        self.manual.leave_requested.connect(lambda: self.window_actions.manual.setChecked(False))
        self.case_actions.opened.connect(lambda: self.view.setFocus())
        for actions in (self.case_actions, self.report_actions):
            actions.message.connect(lambda text: self.status.showMessage(text, 10_000))
            actions.problem.connect(self.presenter.case_error)

    def _build_menus(self) -> WindowActions:
        v = self.view
        return build_menus(self, self.menuBar(), {
            "open_files": self.dialogs.images, "open_folder": self.dialogs.folder,
            "new_case": self.case_actions.new_case, "open_case": self.case_actions.open_case,
            "close_case": self.case_actions.close_case,
            "case_details": lambda: self.case_actions.edit_details(),
            "sign_off": self.case_actions.sign_off, "reopen": self.case_actions.reopen,
            "export_pdf": self.report_actions.export_pdf,
            "print_report": self.report_actions.print_preview,
            "export_csv": self.report_actions.export_csv,
            "export_json": self.report_actions.export_json,
            "export_retraining": self.report_actions.export_retraining,
            "settings": self.open_settings, "quit": self._quit,
            "capture": self.review.capture_or_resume, "manual": self._manual_toggled,
            "blasts_suspected": lambda: self.blasts_suspected.toggled(),
            "next_flagged": lambda: self.review.next_flagged(),
            "reconnect": self.live.reconnect, "open_video": self.dialogs.video,
            "zoom_in": v.zoom_in, "zoom_out": v.zoom_out, "fit": v.fit,
            "actual_size": v.actual_size, "show_minor": self._overlay_options,
            "show_labels": self._overlay_options, "previous": lambda: self.step(-1),
            "next": lambda: self.step(+1), "about": lambda: show_about(self),
        }, self.cases.undo_stack)  # fmt: skip

    # -- sources -------------------------------------------------------------------------
    def set_source(
        self, source: FrameSource | None, *, opened: bool = False, key: str = ""
    ) -> None:
        """Make `source` the live picture (None: no source); `opened`: it is open already;
        `key`: its Source menu entry, when it was not chosen there."""
        if self._closed:  # a source opened in the background after the window closed
            if source is not None and opened:
                source.close()
            return
        if self.review.mode == "review":
            self.review.back_to_live()
        self.files.forget_title()
        if source is not None:
            self.images_dock.setVisible(False)
            if key:
                self.source_menu.remember(source, key)
        self.live.set_source(source, opened=opened)
        self.source_menu.mark(source)

    def open_source_in_background(self, opener: BestSourceOpener) -> None:
        """Start with the source `opener` finds (a camera, else the simulated microscope)
        without waiting for it: the window is usable meanwhile."""
        self._opener = opener
        self.view.set_placeholder("Looking for a camera…")
        opener.opened.connect(lambda source: self.set_source(
            source, opened=True, key=source_key(source)))  # fmt: skip
        opener.failed.connect(lambda why: self.view.set_placeholder(
            f"No source could be opened: {why}\nChoose one in the Source menu"))  # fmt: skip
        opener.start()

    def open_paths(self, paths: Iterable[str | Path]) -> int | None:
        """Open image files and folders as the source (File ▸ Open, drops)."""
        return self.files.open_paths(paths)

    def show_index(self, index: int) -> None:
        self.files.show_index(index)

    def step(self, delta: int) -> None:
        """PgUp/PgDn: the previous/next opened image (leaving a review), else the
        previous/next captured field while reviewing."""
        if self.review.mode == "review" and not self.files.is_live:
            self.review.step_field(delta)
            return
        if self.review.mode == "review":
            self.review.back_to_live()
        self.files.step(delta)

    def _open_video(self, path: Path) -> None:
        source = self.source_menu.video(path)
        if source is not None:
            self.set_source(source)

    def _files_activated(self) -> None:
        if self.review.mode != "live":
            self.window_actions.manual.setChecked(False)
            self.review.back_to_live()
        self.source_menu.mark(None)
        self.images_dock.setVisible(True)
        self.source_banner.dismiss()
        self.legend.set_mode("files")
        self.review.show_live_caption(lost=False)

    # -- the case ------------------------------------------------------------------------
    def _class_key(self, class_id: str) -> None:
        focus = self.focusWidget()  # the window's focus child, active or not
        in_gallery = focus is not None and self.gallery.isAncestorOf(focus)
        in_map = focus is not None and self.cell_map.isAncestorOf(focus)
        if in_map and self.review.mode != "manual" and self.cell_map.relabel_selected(class_id):
            return
        if in_gallery and self.review.mode != "manual" and self.gallery.relabel_selected(class_id):
            return
        self.review.class_key(class_id)

    def _case_changed(self, case: object, field_id: str, cell_id: str) -> None:
        self.gallery.show_case(self.workspace.case)
        self.cell_map.show_case(self.workspace.case)
        info = self.workspace.case.info if self.workspace.case is not None else None
        state = self.workspace.backend.description
        sign_off = self.workspace.sign_off
        if sign_off is not None:
            when = sign_off.at.astimezone().strftime("%Y-%m-%d %H:%M")
            state = f"Signed off by {sign_off.reviewed_by}, {when} (locked); {state}"
        self.differential.show_case(
            "" if info is None else info.sample_id, state, locked=sign_off is not None
        )
        self._update_case_actions()
        self._update_title()

    def _update_case_actions(self) -> None:
        a = self.window_actions
        locked = self.workspace.locked
        a.sign_off.setEnabled(not locked)
        a.reopen.setEnabled(locked)
        a.case_details.setEnabled(not locked)
        a.close_case.setEnabled(self.workspace.case is not None)

    def _show_tally(self, tally: Tally) -> None:
        self.differential.show_tally(tally)
        self.manual.show_counts(self.workspace.case, tally)
        self.differential.red_cells.show_case(
            self.workspace.case, self.settings.um_per_px, self.workspace.taxonomy
        )
        self.unfamiliar_hint.consider(self.workspace.case)

    def _target_reached(self, tally: Tally) -> None:
        self.differential.show_target_reached(tally)
        self.status.showMessage(f"Target reached: {tally.denominator} white cells", 10_000)
        self.differential_dock.raise_()
        if self.settings.beep:
            self._beep()
        self.target_alert.emit(tally)

    def _target_changed(self, target: int) -> None:
        self.cases.set_target(target)

    def _show_cell(self, field_id: str, cell_id: str) -> None:
        self.window_actions.manual.setChecked(False)
        self.review.review_field(field_id, cell_id)

    def _show_cell_from_map(self, field_id: str, cell_id: str) -> None:
        """A click on the map: the cell in its field and in the gallery; the keys stay
        with the map (a class key relabels the cell clicked)."""
        self._show_cell(field_id, cell_id)
        self.cell_map.view.setFocus()

    def _gallery_shown(self, visible: bool) -> None:
        """The gallery (a tab) comes into view: select there the cell in the picture."""
        field_id, cell_id = self.review.field_id, self.review.cell_id
        if visible and self.review.mode == "review" and field_id and cell_id:
            self.gallery.select(field_id, cell_id)

    def _selection_changed(self, field_id: str, cell_id: str) -> None:
        field = self.workspace.field(field_id) if field_id else None
        self.files.point_at(None if field is None else field.source)
        if field_id and cell_id and not self.gallery.hasFocus():
            self.gallery.select(field_id, cell_id)

    def _leave_for_case(self) -> None:
        """Before another case becomes the open one: back to the live picture."""
        self.window_actions.manual.setChecked(False)
        self.review.back_to_live()

    def _review_flagged(self) -> None:
        self.window_actions.manual.setChecked(False)
        self.review.next_flagged()

    def _ask_class(self, box: Box, chosen: Callable[[str | None], None]) -> None:
        taxonomy, guess = self.workspace.taxonomy, self.review.guess
        relabel = self.review.relabelling
        ask_class_with_menu(self, taxonomy, QCursor.pos(), chosen, guess, relabel=relabel)

    # -- modes ---------------------------------------------------------------------------
    def _manual_toggled(self) -> None:
        on = self.window_actions.manual.isChecked()
        self.review.set_manual(on)
        self.stack.setCurrentWidget(self.manual if on else self.view)
        (self.manual if on else self.view).setFocus()
        if on:
            self.differential_dock.raise_()

    def _mode_changed(self, mode: str) -> None:
        legend_mode = "files" if mode == "live" and self.files.is_live else mode
        self.legend.set_mode(legend_mode)
        if mode != "manual" and self.stack.currentWidget() is not self.view:
            self.stack.setCurrentWidget(self.view)

    def _overlay_options(self) -> None:
        self.view.overlay.show_minor = self.window_actions.show_minor.isChecked()
        self.view.overlay.show_labels = self.window_actions.show_labels.isChecked()
        self.view.overlay.update()

    # -- settings ------------------------------------------------------------------------
    def open_settings(self, page: str = "") -> None:
        """File ▸ Settings; ``page``: the tab to open on ("Models"), else the first."""
        from hemoscope.ui.settings.settings_dialog import SettingsDialog

        cameras = {
            int(c.key.split(":", 1)[1]): c.label
            for c in self.source_menu.choices
            if c.key.startswith("camera:")
        }
        dialog = SettingsDialog(
            self.settings, cameras=cameras, models=self.models_context(), parent=self
        )
        dialog.accepted.connect(lambda: self.apply_settings(dialog.settings()))
        dialog.show_page(page)
        dialog.open()

    def apply_settings(self, settings: StationSettings | None) -> None:
        """Use and save `settings` (what the settings dialog returns)."""
        if settings is None:
            return
        settings = apply_model_choices(self.worker, self.notice, self.settings, settings)
        self.settings = settings
        self.settings_store.save(settings)
        taxonomy = settings.taxonomy()
        self.workspace.taxonomy = taxonomy
        self.workspace.reference = settings.reference
        for part in (self.view, self.legend, self.manual):
            part.set_taxonomy(taxonomy)
        self.gallery.set_taxonomy(taxonomy)
        self.cell_map.set_taxonomy(taxonomy)
        self.differential.set_taxonomy(taxonomy, settings.reference)
        self.class_keys.bind(taxonomy)
        self.cases.set_target(settings.target)
        self.cases.refresh()
        self.blasts_suspected.show(settings)
        self.unfamiliar_hint.consider(self.workspace.case)

    def calibrate_colours(self) -> None:
        """Settings ▸ Models ▸ "Calibrate colours…" straight from the unfamiliar-cells
        hint; the calibration accepted is used at once, as the laboratory profile."""

        def use(path: Path) -> None:
            self.apply_settings(replace(self.settings, lab_profile=str(path)))

        self.calibration_dialog = open_calibration(self, self.models_context(), use)

    def models_context(self) -> ModelsContext:
        """What Settings ▸ Models needs: the models in use, the case database, where
        profiles are kept and the shipped models to adapt (`adapt_model`)."""
        from hemoscope.ui.settings.adapt_model import models_context

        db = getattr(self.workspace.backend, "path", None)
        threads = self.settings.inference_threads or None
        return models_context(lambda: self.worker.cards, db, threads)

    # -- window --------------------------------------------------------------------------
    def _fields_count(self) -> int:
        case = self.workspace.case
        return 0 if case is None else len(case.fields)

    def _set_file_title(self, name: str) -> None:
        self._file_title = name
        self._update_title()

    def _update_title(self) -> None:
        case = self.workspace.case
        if self._file_title:
            self.setWindowTitle(f"{self._file_title} — {APP_TITLE}")
        elif case is not None:
            lock = " (signed off)" if self.workspace.locked else ""
            self.setWindowTitle(f"{case.info.sample_id}{lock} — {APP_TITLE}")
        else:
            self.setWindowTitle(APP_TITLE)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        event.acceptProposedAction() if local_paths(event.mimeData()) else event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        event.acceptProposedAction() if local_paths(event.mimeData()) else event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = local_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_paths(paths)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop the source, the models' thread, the image reader; wait for saves."""
        self._closed = True
        if self._opener is not None:
            self._opener.wait()
        self.live.shutdown()
        self.source_menu.shutdown()
        self.worker.shutdown()
        self.cases.shutdown()
        self.loader.shutdown()

    def _quit(self) -> None:
        self.close()
        app = QApplication.instance()
        if app is not None:
            app.quit()
