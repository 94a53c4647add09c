"""Every change to the case, through one QUndoStack.

`CaseController` turns the technician's actions (capture, relabel, delete, add a cell,
a manual count) into core corrections, applies them through the `CaseWorkspace` (which
saves them through its backend) and pushes them on a QUndoStack, so that Ctrl+Z /
Ctrl+Shift+Z undo and redo them and every undo and redo is saved and audited too.
Listeners hear `case_changed` (the new case, and the field and cell the action touched)
and `target_reached`.

Every action is done at once in memory and written by the backend on its own thread (a
`StoreBackend`), so no key waits for a disk. When a write fails, the case is read back
from the database, the undo history is cleared, and `error` says what was not saved.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from hemoscope.core import (
    AddCell,
    Box,
    Case,
    CaseInfo,
    Cell,
    Confirm,
    Correction,
    Delete,
    Field,
    ManualIncrement,
    Relabel,
    SignOff,
)
from hemoscope.core.corrections import CountCell, FlagUnfamiliar
from hemoscope.ui.case.workspace import CaseWorkspace, TargetWatch

__all__ = ["CaseController"]

log = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]


class CaseController(QObject):
    case_changed = Signal(object, str, str)  # Case | None, field id, cell id ("" if none)
    tally_changed = Signal(object)  # Tally
    target_reached = Signal(object)  # Tally, once when the count reaches the target
    field_added = Signal(str)  # field id, after a capture was saved
    case_opened = Signal()  # another case (new, opened or none) is now the open one
    error = Signal(str)  # an action could not be done (the case is as shown)
    _save_failed = Signal(str)  # from the store's thread

    def __init__(self, *, workspace: CaseWorkspace, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(500)
        self._watch = TargetWatch()
        self._save_failed.connect(self._reload_after_failure)
        workspace.backend.on_error = self._save_failed.emit  # called on the store's thread

    # -- queries -------------------------------------------------------------------------
    @property
    def case(self) -> Case | None:
        return self.workspace.case

    # -- actions -------------------------------------------------------------------------
    def capture(self, image: Image, field: Field) -> None:
        """Add `field` (found in `image`) to the case; `field_added` follows at once."""
        n = field.n_wbc
        text = f"Capture field ({n} white cell{'s' if n != 1 else ''})"
        if self._push_command(text, lambda: self.workspace.add_field(field, image)):
            self.field_added.emit(field.id)

    def relabel(self, field_id: str, cell_id: str, class_id: str) -> None:
        taxonomy = self.workspace.taxonomy
        name = taxonomy[class_id].display_name
        self._push(f"Label as {name}", Relabel(field_id, cell_id, class_id, taxonomy=taxonomy))

    def relabel_all(self, cells: list[tuple[str, str]], class_id: str) -> None:
        """Relabel each ``(field id, cell id)``: one undo step (the gallery's selection)."""
        if len(cells) == 1:
            self.relabel(*cells[0], class_id)
            return
        name = self.workspace.taxonomy[class_id].display_name
        self.undo_stack.beginMacro(f"Label {len(cells)} cells as {name}")
        try:
            for field_id, cell_id in cells:
                self.relabel(field_id, cell_id, class_id)
        finally:
            self.undo_stack.endMacro()

    def confirm(self, field_id: str, cell_id: str) -> None:
        taxonomy = self.workspace.taxonomy
        self._push("Confirm cell", Confirm(field_id, cell_id, taxonomy=taxonomy))

    def count_cell(self, field_id: str, cell_id: str) -> None:
        """Count a cell marked already counted or cut by the edge (the mark overruled)."""
        taxonomy = self.workspace.taxonomy
        self._push("Count cell", CountCell(field_id, cell_id, taxonomy=taxonomy))

    def delete(self, field_id: str, cell_id: str) -> None:
        taxonomy = self.workspace.taxonomy
        self._push("Delete cell", Delete(field_id, cell_id, taxonomy=taxonomy))

    def add_cell(self, field_id: str, box: Box, class_id: str) -> str:
        """Add a cell the detector missed; returns its id."""
        taxonomy = self.workspace.taxonomy
        cls = taxonomy[class_id]
        cell = Cell.create(box, cls.kind, final_class=class_id, manual=True)
        self._push(f"Add {cls.display_name}", AddCell(field_id, cell, taxonomy=taxonomy))
        return cell.id

    def count(self, class_id: str, delta: int = 1) -> None:
        """A manual (eyepiece) count of one cell of `class_id`."""
        taxonomy = self.workspace.taxonomy
        name = taxonomy[class_id].display_name
        self._push(f"Count {name}", ManualIncrement(class_id, delta, taxonomy=taxonomy))

    def set_target(self, target: int) -> None:
        self.workspace.target = target
        tally = self.workspace.tally()
        self._watch.reset(tally)
        self.tally_changed.emit(tally)

    def refresh(self) -> None:
        """Tell the listeners again (after the taxonomy or reference ranges changed)."""
        self._watch.reset(self.workspace.tally())
        self._emit_changed("", "")

    def confirm_all(self, cells: list[tuple[str, str]]) -> None:
        """Confirm the automatic class of each ``(field id, cell id)``: one undo step."""
        if not cells:
            return
        self.undo_stack.beginMacro(f"Confirm {len(cells)} flagged cells")
        try:
            for field_id, cell_id in cells:
                self.confirm(field_id, cell_id)
        finally:
            self.undo_stack.endMacro()

    def flag_unfamiliar_all(self, cells: list[tuple[str, str]], sensitivity: str) -> None:
        """Flag each ``(field id, cell id)`` for review as unfamiliar at ``sensitivity``
        (`FlagUnfamiliar`, each audited): one undo step."""
        if not cells:
            return
        taxonomy = self.workspace.taxonomy
        self.undo_stack.beginMacro(f"Flag {len(cells)} cells unfamiliar ({sensitivity})")
        try:
            for field_id, cell_id in cells:
                command = FlagUnfamiliar(
                    field_id, cell_id, sensitivity=sensitivity, taxonomy=taxonomy
                )
                self._push("Flag cell unfamiliar", command)
        finally:
            self.undo_stack.endMacro()

    def new_case(self, info: CaseInfo | None = None) -> None:
        """Close the case (it is saved) and start another: now with `info`, else on the
        first capture or count."""
        self.workspace.new_case(info)
        self._restart()

    def open_case(self, case_id: str) -> None:
        """Make a saved case the open one (raises what the backend raises)."""
        self.workspace.open_case(case_id)
        self._restart()

    def set_info(self, info: CaseInfo) -> None:
        """Change the request-form data of the case (made now if there is none)."""
        self.workspace.set_info(info)
        self._emit_changed("", "")

    def sign_off(self, *, performed_by: str, reviewed_by: str, note: str = "") -> SignOff:
        """Sign the case off; it is locked, and the undo history ends here."""
        record = self.workspace.record_sign_off(
            performed_by=performed_by, reviewed_by=reviewed_by, note=note
        )
        self.undo_stack.clear()
        self._emit_changed("", "")
        return record

    def reopen(self, reason: str) -> None:
        self.workspace.reopen(reason)
        self._emit_changed("", "")

    def _restart(self) -> None:
        self.undo_stack.clear()
        self._watch.reset(self.workspace.tally())
        self.case_opened.emit()
        self._emit_changed("", "")

    def shutdown(self) -> None:
        """Write what is queued and close the backend (the case must not lose a capture)."""
        self.workspace.backend.close()

    # -- internals -----------------------------------------------------------------------
    def _reload_after_failure(self, message: str) -> None:
        try:
            self.workspace.reload()
        except Exception as error:  # the database itself is gone: say so, keep what is shown
            message += f"; reading the case back failed too: {error}"
        else:
            message += "; the case was read back from the database"
        self.undo_stack.clear()
        self._watch.reset(self.workspace.tally())
        self._emit_changed("", "")
        self.error.emit(message)

    def _push(self, text: str, correction: Correction) -> None:
        self._push_command(text, lambda: self.workspace.apply(correction))

    def _push_command(self, text: str, first: Callable[[], Correction]) -> bool:
        """Push a command; whether it was done (a command that fails is not kept: Qt
        deletes it, so it is not looked at again)."""
        index = self.undo_stack.index()
        self.undo_stack.push(_CaseCommand(self, text, first))
        return self.undo_stack.index() == index + 1

    def _done(self, bound: Correction) -> None:
        entry = bound.audit()
        self._emit_changed(entry.field_id or "", entry.cell_id or "")

    def _emit_changed(self, field_id: str, cell_id: str) -> None:
        tally = self.workspace.tally()
        self.case_changed.emit(self.workspace.case, field_id, cell_id)
        self.tally_changed.emit(tally)
        if self._watch.update(tally):
            self.target_reached.emit(tally)

    def _failed(self, action: str, error: Exception, *, clear: bool) -> None:
        log.warning("%s failed: %s", action, error)
        message = f"{action} failed: {error}"
        if clear:  # the stack no longer matches the case: start a fresh history
            message += " (the undo history was cleared; the case is as shown)"
            QTimer.singleShot(0, self.undo_stack.clear)
        self.error.emit(message)


class _CaseCommand(QUndoCommand):
    """One undoable action; the correction is bound on its first redo."""

    def __init__(
        self, controller: CaseController, text: str, first: Callable[[], Correction]
    ) -> None:
        super().__init__(text)
        self._ctl = controller
        self._first = first
        self._bound: Correction | None = None

    def redo(self) -> None:
        workspace = self._ctl.workspace
        try:
            if self._bound is None:
                self._bound = self._first()
            else:
                workspace.reapply(self._bound)
        except Exception as error:
            if self._bound is None:
                self.setObsolete(True)  # never pushed
                self._ctl._failed(self.text(), error, clear=False)
            else:
                self._ctl._failed(f"Redo {self.text()}", error, clear=True)
            return
        self._ctl._done(self._bound)

    def undo(self) -> None:
        assert self._bound is not None
        try:
            self._ctl.workspace.revert(self._bound)
        except Exception as error:
            self._ctl._failed(f"Undo {self.text()}", error, clear=True)
            return
        self._ctl._done(self._bound)
