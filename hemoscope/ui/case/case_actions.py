"""The Case menu: new case, open a saved case, close it, case details, sign off, reopen.

`CaseActions` opens the dialogs (window-modal, with ``open()``: no nested event loop, the
live picture goes on) and hands what they return to the `CaseController`, which keeps
the undo history and tells the window. It never writes to the case itself.

Sign-off follows the laboratory's rule: not while cells flagged for review remain
unconfirmed. The technician is told how many, and can review them (Tab walks through
them) or confirm them all (one undoable step, each cell audited as a confirmation);
cells without any automatic class must be labelled by hand first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QInputDialog, QLineEdit, QMessageBox, QWidget

from hemoscope.core import CaseInfo
from hemoscope.report import PendingCell, pending_flags, pending_review_cells
from hemoscope.store import StoreError
from hemoscope.ui.case.case_controller import CaseController
from hemoscope.ui.case.case_dialog import CaseInfoDialog
from hemoscope.ui.case.case_list import CaseListDialog
from hemoscope.ui.case.signoff_dialog import SignOffDialog
from hemoscope.ui.case.workspace import CaseWorkspace, is_provisional
from hemoscope.ui.differential.tally_text import shortfall_text

__all__ = ["CaseActions"]

log = logging.getLogger(__name__)


class CaseActions(QObject):
    message = Signal(str)  # done: for the status bar
    problem = Signal(str)  # could not be done: for the notice banner
    opened = Signal()  # another case is now the open one

    def __init__(
        self,
        *,
        window: QWidget,
        cases: CaseController,
        leave_review: Callable[[], None],
        review_flagged: Callable[[], None],
    ) -> None:
        super().__init__(window)
        self._window = window
        self.cases = cases
        self._leave_review = leave_review
        self._review_flagged = review_flagged
        self.dialog: QDialog | None = None  # the dialog or question now open (tests look)

    @property
    def workspace(self) -> CaseWorkspace:
        return self.cases.workspace

    # -- new, details, open ----------------------------------------------------------------
    def new_case(self) -> None:
        dialog = CaseInfoDialog(
            operator=self.workspace.backend.operator, title="New case", parent=self._window
        )
        dialog.accepted.connect(lambda: self._start(dialog.info()))
        self._show(dialog)

    def _start(self, info: CaseInfo | None) -> None:
        if info is None:
            return
        self._leave_review()
        try:
            self.cases.new_case(info)
        except (StoreError, OSError) as error:
            self.problem.emit(f"The new case could not be saved: {error}")
            return
        self.opened.emit()
        self.message.emit(f"New case {info.sample_id}: capture fields (Space) or count")

    def close_case(self) -> None:
        """Put the case away (everything is saved already); the station is blank again."""
        case = self.workspace.case
        if case is None:
            return
        self._leave_review()
        self.cases.new_case()
        self.opened.emit()
        self.message.emit(f"Closed {case.info.sample_id} (saved); Case ▸ Open Case finds it")

    def edit_details(self, then: Callable[[], None] | None = None) -> None:
        """The request form of the open case (made now if there is none)."""
        if self._refuse_if_locked("Its details"):
            return
        case = self.workspace.case
        dialog = CaseInfoDialog(
            None if case is None else case.info,
            operator=self.workspace.backend.operator,
            parent=self._window,
        )
        dialog.accepted.connect(lambda: self._save_details(dialog.info(), then))
        self._show(dialog)

    def _save_details(self, info: CaseInfo | None, then: Callable[[], None] | None) -> None:
        if info is None:
            return
        try:
            self.cases.set_info(info)
        except (StoreError, OSError, ValueError) as error:
            self.problem.emit(f"The case details could not be saved: {error}")
            return
        self.message.emit(f"Case details saved ({info.sample_id})")
        if then is not None:
            then()

    def open_case(self) -> None:
        backend = self.workspace.backend
        case = self.workspace.case
        dialog = CaseListDialog(
            lambda text, start, end: backend.list_cases(text, date_from=start, date_to=end),
            current_id="" if case is None else case.id,
            parent=self._window,
        )
        dialog.accepted.connect(lambda: self.open_case_id(dialog.chosen_id))
        self._show(dialog)

    def open_case_id(self, case_id: str) -> None:
        if not case_id:
            return
        self._leave_review()
        try:
            self.cases.open_case(case_id)
        except Exception as error:  # a store error, or a case the store cannot read
            log.exception("opening case %s", case_id)
            self.problem.emit(f"The case could not be opened: {error}")
            return
        case = self.workspace.case
        assert case is not None
        state = (
            f", signed off by {self.workspace.sign_off.reviewed_by} (read only)"
            if self.workspace.sign_off is not None
            else ""
        )
        self.opened.emit()
        self.message.emit(f"Opened {case.info.sample_id}: {len(case.fields)} field(s){state}")

    # -- the sample id typed into the differential panel ----------------------------------
    def rename(self, sample_id: str) -> None:
        """Give the case the sample id typed in the panel; a case with cells is renamed
        only when the technician confirms it (Keep leaves it as it was)."""
        case = self.workspace.case
        if case is not None and case.info.sample_id == sample_id:
            return
        if self._refuse_if_locked("Its sample ID"):
            self.cases.refresh()
            return
        if case is None or not (any(f.cells for f in case.fields) or case.manual_counts):
            self._save_sample_id(sample_id)
            return
        if isinstance(self.dialog, QMessageBox) and self.dialog.isVisible():
            return  # already asking
        box = QMessageBox(self._window)
        box.setObjectName("renameCaseBox")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Rename the case?")
        n, fields = self.workspace.tally().denominator, len(case.fields)
        box.setText(
            f"Rename case {case.info.sample_id} ({n} white cells counted, {fields} "
            f"field{'s' if fields != 1 else ''}) to {sample_id}? Every count of the case "
            "goes with the new sample ID."
        )
        rename = box.addButton("Rename", QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton(f"Keep {case.info.sample_id}", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.finished.connect(
            lambda _r: (
                self._save_sample_id(sample_id)
                if box.clickedButton() is rename
                else self.cases.refresh()
            )
        )
        self._show(box)

    def _save_sample_id(self, sample_id: str) -> None:
        case = self.workspace.case
        info = CaseInfo(sample_id) if case is None else replace(case.info, sample_id=sample_id)
        try:
            self.cases.set_info(info)
        except (StoreError, OSError, ValueError) as error:
            self.problem.emit(f"The sample id could not be saved: {error}")
            self.cases.refresh()
            return
        self.message.emit(f"Sample ID: {info.sample_id}")

    # -- sign-off --------------------------------------------------------------------------
    def sign_off(self) -> None:
        case = self.workspace.case
        if case is None or (not case.fields and not case.manual_counts):
            self.problem.emit("Nothing to sign off: the case is empty")
            return
        if self.workspace.locked:
            self.message.emit("The case is signed off already")
            return
        if is_provisional(case.info):
            self.message.emit("Enter the sample ID before signing off")
            self.edit_details(then=self.sign_off)
            return
        pending = pending_review_cells(case)
        if pending:
            why = pending_flags(case).breakdown()
            self._ask_about_pending(len(pending), [p for p in pending if p.auto_class], why)
            return
        tally = self.workspace.tally()
        dialog = SignOffDialog(
            sample_id=case.info.sample_id,
            summary=f"{tally.denominator} of {tally.target} white cells counted "
            f"in {len(case.fields)} field(s)",
            performed_by=case.info.operator or self.workspace.backend.operator,
            shortfall=shortfall_text(tally),
            parent=self._window,
        )
        dialog.accepted.connect(lambda: self._record(*dialog.names(), note=dialog.note))
        self._show(dialog)

    def _ask_about_pending(
        self, n_pending: int, confirmable: list[PendingCell], why: str = ""
    ) -> None:
        box = QMessageBox(self._window)
        box.setObjectName("pendingReviewBox")
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Cells await review")
        box.setText(
            f"{n_pending} cell(s) flagged for review are not confirmed"
            + (f" ({why})" if why else "")
            + ". The case cannot be signed off until each is confirmed or relabelled."
        )
        unclassified = n_pending - len(confirmable)
        if unclassified:
            box.setInformativeText(
                f"{unclassified} of them have no automatic class: label them by hand."
            )
        review = box.addButton("Review Them (Tab)", QMessageBox.ButtonRole.AcceptRole)
        confirm = None
        if confirmable:
            confirm = box.addButton(
                f"Confirm {len(confirmable)} as Classified", QMessageBox.ButtonRole.ActionRole
            )
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(review)

        def answered() -> None:
            clicked = box.clickedButton()
            if clicked is review:
                self._review_flagged()
            elif confirm is not None and clicked is confirm:
                self.cases.confirm_all([(p.field_id, p.cell_id) for p in confirmable])
                self.message.emit(f"Confirmed {len(confirmable)} flagged cell(s) (Ctrl+Z undoes)")
                if not unclassified:
                    self.sign_off()

        box.finished.connect(lambda _result: answered())
        self._show(box)

    def _record(self, performed_by: str, reviewed_by: str, *, note: str = "") -> None:
        try:
            record = self.cases.sign_off(
                performed_by=performed_by, reviewed_by=reviewed_by, note=note
            )
        except (StoreError, ValueError, OSError) as error:
            self.problem.emit(f"Sign-off refused: {error}")
            return
        self.message.emit(f"Signed off by {record.reviewed_by}: the case is locked")

    def reopen(self) -> None:
        if not self.workspace.locked:
            self.message.emit("The case is not signed off: it can be changed as it is")
            return
        dialog = QInputDialog(self._window)
        dialog.setObjectName("reopenDialog")
        dialog.setWindowTitle("Reopen signed-off case")
        dialog.setLabelText("Why must the signed-off differential be amended?")
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        dialog.textValueSelected.connect(self._reopen_with)
        self._show(dialog)

    def _reopen_with(self, reason: str) -> None:
        if not reason.strip():
            self.problem.emit("The case stays signed off: reopening needs a reason")
            return
        try:
            self.cases.reopen(reason.strip())
        except (StoreError, ValueError, OSError) as error:
            self.problem.emit(f"The case could not be reopened: {error}")
            return
        self.message.emit("Reopened: the case can be amended, and must be signed off again")

    # -- helpers ---------------------------------------------------------------------------
    def _refuse_if_locked(self, what: str) -> bool:
        if not self.workspace.locked:
            return False
        self.problem.emit(
            f"{what} cannot change: the case is signed off. Reopen it (Case ▸ Reopen) first."
        )
        return True

    def _show(self, dialog: QDialog) -> None:
        self.dialog = dialog
        dialog.open()
