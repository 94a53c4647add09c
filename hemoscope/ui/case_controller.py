"""Every change to the case, through one QUndoStack.

`CaseController` turns the technician's actions (capture, relabel, delete, add a cell,
a manual count) into core corrections, applies them through the `CaseWorkspace` (which
saves them through its backend) and pushes them on a QUndoStack, so that Ctrl+Z /
Ctrl+Shift+Z undo and redo them and every undo and redo is saved and audited too.
Listeners hear `case_changed` (the new case, and the field and cell the action touched)
and `target_reached`.

Field images are made durable on a worker thread before the field is added (PNG encoding
of a camera frame takes longer than a GUI frame); `capture` therefore returns at once and
`field_added` follows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from hemoscope.core import (
    AddCell,
    Box,
    Case,
    Cell,
    Confirm,
    Correction,
    Delete,
    Field,
    ManualIncrement,
    Relabel,
)
from hemoscope.ui.case_backend import StoredImage
from hemoscope.ui.workspace import CaseWorkspace, TargetWatch

__all__ = ["CaseController"]

log = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]


class CaseController(QObject):
    case_changed = Signal(object, str, str)  # Case | None, field id, cell id ("" if none)
    tally_changed = Signal(object)  # Tally
    target_reached = Signal(object)  # Tally, once when the count reaches the target
    field_added = Signal(str)  # field id, after a capture was saved
    error = Signal(str)  # an action could not be done (the case is as shown)
    _stored = Signal(object, object, object)  # from the image writer: Field, stored, image
    _store_failed = Signal(str)

    def __init__(
        self, *, workspace: CaseWorkspace, synchronous: bool = False, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(500)
        self._watch = TargetWatch()
        self._synchronous = synchronous
        self._pool = QThreadPool(self)
        self._pool.setObjectName("hemoscope-save")
        self._pool.setMaxThreadCount(1)
        self._saving = 0
        self._stored.connect(self._on_stored)
        self._store_failed.connect(self._on_store_failed)

    # -- queries -------------------------------------------------------------------------
    @property
    def case(self) -> Case | None:
        return self.workspace.case

    @property
    def saving(self) -> bool:
        """Whether a captured field is still being written."""
        return self._saving > 0

    # -- actions -------------------------------------------------------------------------
    def capture(self, image: Image, field: Field) -> None:
        """Add `field` (found in `image`) to the case once its image is stored."""
        backend = self.workspace.backend
        if self._synchronous or not backend.saves:
            self._push_field(field, backend.store_image(image), image)
            return
        self._saving += 1
        self._pool.start(_StoreImage(self, backend.store_image, image, field))

    def relabel(self, field_id: str, cell_id: str, class_id: str) -> None:
        taxonomy = self.workspace.taxonomy
        name = taxonomy[class_id].display_name
        self._push(f"Label as {name}", Relabel(field_id, cell_id, class_id, taxonomy=taxonomy))

    def confirm(self, field_id: str, cell_id: str) -> None:
        taxonomy = self.workspace.taxonomy
        self._push("Confirm cell", Confirm(field_id, cell_id, taxonomy=taxonomy))

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

    def new_case(self) -> None:
        self.undo_stack.clear()
        self.workspace.new_case()
        self._watch.reset()
        self._emit_changed("", "")

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Wait for images being written (the case must not lose a capture)."""
        return bool(self._pool.waitForDone(timeout_ms))

    # -- internals -----------------------------------------------------------------------
    def _on_stored(self, field: Field, stored: StoredImage, image: Image) -> None:
        self._saving -= 1
        self._push_field(field, stored, image)

    def _on_store_failed(self, message: str) -> None:
        self._saving -= 1
        self.error.emit(f"The field could not be saved: {message}")

    def _push_field(self, field: Field, stored: StoredImage, image: Image) -> None:
        n = field.n_wbc
        text = f"Capture field ({n} white cell{'s' if n != 1 else ''})"
        if self._push_command(text, lambda: self.workspace.add_field(field, stored, image)):
            self.field_added.emit(field.id)

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


class _StoreImage(QRunnable):
    def __init__(
        self,
        controller: CaseController,
        store: Callable[[Image], StoredImage],
        image: Image,
        field: Field,
    ) -> None:
        super().__init__()
        self._ctl = controller
        self._store = store
        self._image = image
        self._field = field

    def run(self) -> None:
        try:
            stored = self._store(self._image)
        except Exception as error:
            log.exception("storing a field image failed")
            self._ctl._store_failed.emit(str(error))
            return
        self._ctl._stored.emit(self._field, stored, self._image)
