"""The station's modes and the keyboard: live, reviewing a captured field, counting by hand.

`ReviewController` decides what a key means now:

- live: Space captures the field (the frame and the cells found in it) into the case and
  shows it for review; the arrow keys move a stage that can be moved (the simulated
  microscope's), Shift+arrow by a whole field; Tab goes to the next cell to review.
- review: a click selects a cell; a class key relabels it and moves on to the next cell
  to review, as Enter (confirm the classifier's call) does; Enter on a cell marked
  "already counted" or "cut by the edge" counts it after all; Delete removes a false
  detection; dragging draws a missed cell and asks its class (the classifier's guess
  offered first); arrows move to the nearest cell that way; Tab (Shift+Tab) goes to the
  next cell flagged for review, into the next fields; PgUp/PgDn step between captured
  fields; Escape goes back to live, and so does Space while cells await review; once
  none does, Space captures the next field. H shows the heat map of the selected cell's
  class (the class activation map, `class_map_overlay`), Shift+H the runner-up's.
- manual: each class key counts one cell (the eyepiece counter) until the target is
  reached, where counting stops (raise the target to go on); Backspace undoes.

Changes go through the `CaseController` (one undo stack); the view is redrawn from the
case it reports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QKeyEvent

from hemoscope.core import Box, Case, Field
from hemoscope.ui.case.case_controller import CaseController
from hemoscope.ui.live.frames import Frame
from hemoscope.ui.live.live import LiveController
from hemoscope.ui.review.cell_guess import CellGuesser
from hemoscope.ui.review.class_map_overlay import ClassMapOverlay
from hemoscope.ui.review.class_map_service import ClassMapService
from hemoscope.ui.review.overlap_marks import (
    OverlapMarks,
    compute_marks,
    marks_text,
    repeats_banner,
)
from hemoscope.ui.review.review_keys import handle_key
from hemoscope.ui.review.review_model import (
    Direction,
    neighbour,
    next_flagged,
    reading_order,
    review_caption,
)
from hemoscope.ui.shared.pool_task import PoolTask
from hemoscope.ui.station_view import StationView

__all__ = ["AskClass", "Mode", "ReviewController"]

Mode = Literal["live", "review", "manual"]
LIVE_CAPTION = "LIVE  ·  Space captures the field"
LIVE_COLOUR = "#1a7f37"
LOST_CAPTION = "NO SIGNAL  ·  last picture received"
LOST_COLOUR = "#b42318"
STILL_CAPTION = "IMAGE FILE  ·  Space captures it  ·  PgDn next image"
STILL_COLOUR = "#3e4c59"
LOCKED_CAPTION = "SIGNED OFF  ·  Ctrl+N starts a new case"
LOCKED_COLOUR = "#52606d"
AskClass = Callable[[Box, Callable[[str | None], None]], None]


class ReviewController(QObject):
    mode_changed = Signal(str)
    selection_changed = Signal(str, str)  # field id, cell id ("" for none)
    message = Signal(str)  # a short line for the status bar
    counted = Signal(str)  # class id counted by hand (the counter flashes its tile)
    refused = Signal()  # a count by hand refused: the target is reached
    overlap_notice = Signal(str)  # after a capture: cells already counted, or ""

    def __init__(
        self,
        *,
        view: StationView,
        live: LiveController,
        cases: CaseController,
        ask_class: AskClass,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.view = view
        self.live = live
        self.cases = cases
        self._ask_class = ask_class
        self.mode: Mode = "live"
        self.field_id: str | None = None
        self.cell_id: str | None = None
        self.capturing = False
        self._lost = False
        self.marks = OverlapMarks(cases.workspace.field_image, cases.workspace.backend.field_image)
        self._marking = PoolTask(self)
        self._guesser = CellGuesser(lambda: live.worker.classifier, self)
        self.guess: str | None = None  # the classifier's class for the cell being drawn
        self.relabelling = False  # the class menu is asked for a cell right-clicked
        maps = ClassMapService(
            lambda: live.worker.classifier, lambda: cases.workspace.taxonomy, self
        )
        self.class_map = ClassMapOverlay(view, cases.workspace, maps, self)  # H, Shift+H
        self.selection_changed.connect(self.class_map.follow)
        self.class_map.changed.connect(self._map_changed)
        view.key_handler = self.handle_key
        view.set_caption(LIVE_CAPTION, LIVE_COLOUR)
        view.cell_clicked.connect(self.select)
        view.box_drawn.connect(self._box_drawn)
        view.cell_menu_requested.connect(self._class_menu_for)
        cases.case_changed.connect(self._case_changed)
        cases.field_added.connect(self._field_added)

    # -- modes ---------------------------------------------------------------------------
    def capture_or_resume(self) -> None:
        """Space: capture in live mode; in review mode back to live while cells await
        review, else capture the next field."""
        if self.mode == "review":
            self.back_to_live()
            if not self._anything_to_review():
                self.capture()
        elif self.mode == "live":
            self.capture()

    def _anything_to_review(self) -> bool:
        case = self.cases.case
        return case is not None and next_flagged(case, None, None) is not None

    def capture(self) -> None:
        if self.cases.workspace.locked:
            self.message.emit("The case is signed off: Ctrl+N starts a new case")
            return
        if self.capturing:
            self.message.emit("Still analysing the field…")
            return
        if not self.live.can_capture():
            self.message.emit("Nothing to capture: the source is not delivering frames")
            return
        self.capturing = True
        outcome = self.live.capture(self._captured)
        if outcome == "":
            self.capturing = False
            self.message.emit("Nothing to capture yet: no picture")
        elif outcome == "pending":
            self.message.emit("Analysing the field…")

    def _captured(self, image: Frame, field: Field) -> None:
        if self.cases.workspace.field(field.id) is not None:  # Space twice on one frame
            self.capturing = False
            self.message.emit("This field is already in the case")
            if self.mode == "live":
                self.review_field(field.id)
            return
        # Registration with the earlier fields runs on Qt's pool: the picture goes on.
        case = self.cases.case
        earlier = self.marks.earlier(case, field.id)
        load = self.marks.loader(case)
        self._marking.run(
            lambda: compute_marks(field, image, earlier, load),
            lambda result: self._marked(case, image, field, result),
            lambda _error: self._marked(case, image, field, None),
        )

    def _marked(
        self,
        case: Case | None,
        image: Frame,
        field: Field,
        result: tuple[Field, Any, dict[str, Any]] | None,
    ) -> None:
        if result is None or self.cases.case is not case:  # failed, or the case changed
            marked = self.marks.mark(self.cases.case, field, image)
        else:
            marked, thumb, made = result
            for field_id, made_thumb in made.items():
                self.marks.remember(field_id, made_thumb)
            self.marks.remember(field.id, thumb)
        self.cases.capture(image, marked)  # `field_added` follows

    def _field_added(self, field_id: str) -> None:
        self.capturing = False
        field = self.cases.workspace.field(field_id)
        n = 0 if field is None else field.n_wbc
        marks = "" if field is None else marks_text(field)
        self.message.emit(
            f"Field captured: {n} white cell{'s' if n != 1 else ''}"
            + (f"; {marks}" if marks else "")
        )
        self.overlap_notice.emit("" if field is None else repeats_banner(field))
        if self.mode == "live":
            # Freeze the picture now; show the field on the next turn of the event loop,
            # so that adding it and showing it are not one long block.
            self.live.set_active(False)
            QTimer.singleShot(0, self, lambda: self._show_captured(field_id))

    def _show_captured(self, field_id: str) -> None:
        field = self.cases.workspace.field(field_id)
        if self.mode != "live" or field is None:
            if self.mode == "live":
                self.live.set_active(True)
            return
        cells = reading_order(field)
        flagged = [c for c in cells if c.pending_review]
        counted = [c for c in cells if c.counted]
        first = next(iter(flagged or counted), None)
        self.review_field(field_id, None if first is None else first.id)

    def review_field(self, field_id: str, cell_id: str | None = None) -> None:
        field = self.cases.workspace.field(field_id)
        image = self.cases.workspace.field_image(field_id)
        if field is None or image is None:
            self.message.emit("That field is not in the case any more")
            return
        self.live.cancel_capture()
        self._marking.cancel()
        self.capturing = False
        self.live.set_active(False)
        self.field_id, self.cell_id = field_id, cell_id
        self.view.set_mode("review")
        self.view.show_frame(image)
        self.view.show_cells(field, cell_id)
        self._caption(field)
        self.view.setFocus()
        self._set_mode("review")
        self.selection_changed.emit(field_id, cell_id or "")

    def show_live_caption(self, *, lost: bool) -> None:
        """The caption over the live picture: LIVE, NO SIGNAL while the source is lost, or
        IMAGE FILE for an opened image."""
        self._lost = lost
        if self.mode != "live":
            return
        if lost:
            self.view.set_caption(LOST_CAPTION, LOST_COLOUR)
        elif self.cases.workspace.locked:
            self.view.set_caption(LOCKED_CAPTION, LOCKED_COLOUR)
        elif self.live.runner is None and self.live.still_name:
            self.view.set_caption(STILL_CAPTION, STILL_COLOUR)
        else:
            self.view.set_caption(LIVE_CAPTION, LIVE_COLOUR)

    def back_to_live(self) -> None:
        self.field_id = self.cell_id = None
        self.view.set_mode("live")
        self._set_mode("live")
        self.show_live_caption(lost=self._lost)
        self.live.set_active(True)
        self.selection_changed.emit("", "")

    def set_manual(self, on: bool) -> None:
        if on == (self.mode == "manual"):
            return
        if on:
            self.live.cancel_capture()
            self._marking.cancel()
            self.capturing = False
            self.live.set_active(False)
            self._set_mode("manual")
        else:
            self.back_to_live()

    def _set_mode(self, mode: Mode) -> None:
        if mode != self.mode:
            self.mode = mode
        self.mode_changed.emit(mode)

    # -- selection and corrections ---------------------------------------------------------
    def select(self, cell_id: str) -> None:
        self.cell_id = cell_id or None
        self.view.overlay.set_selected(self.cell_id)
        if self.mode == "review":
            self._caption(self._field())
        self.selection_changed.emit(self.field_id or "", cell_id)

    def class_key(self, class_id: str) -> None:
        """A class key was pressed (window-wide)."""
        if self.mode == "manual":
            tally = self.cases.workspace.tally()
            if tally.target_reached:
                self.message.emit(
                    f"Target reached ({tally.denominator} of {tally.target}): not counted. "
                    "Raise the target to count on."
                )
                self.refused.emit()
                return
            self.cases.count(class_id)
            self.counted.emit(class_id)
        elif self.mode == "review" and self.field_id and self.cell_id:
            self.cases.relabel(self.field_id, self.cell_id, class_id)
            self.next_flagged()
        elif self.mode == "review":
            self.message.emit("Select a cell first (click it, or Tab to the next flagged one)")
        else:
            self.message.emit("Capture the field first (Space), then label its cells")

    def delete_selected(self) -> None:
        if self.mode == "review" and self.field_id and self.cell_id:
            following = neighbour(self._field(), self.cell_id, "right")
            self.cases.delete(self.field_id, self.cell_id)
            self.select(following.id if following is not None else "")

    def confirm_selected(self) -> None:
        if self.mode != "review" or not (self.field_id and self.cell_id):
            return
        cell = self._field().get(self.cell_id)
        if cell is not None and cell.uncounted:  # the technician overrules the mark
            self.cases.count_cell(self.field_id, self.cell_id)
            self.message.emit(
                f"Counted, although marked \u201c{cell.uncounted}\u201d (Ctrl+Z undoes)"
            )
        elif cell is not None and cell.auto_class is not None:
            self.cases.confirm(self.field_id, self.cell_id)
            self.next_flagged()

    def move(self, direction: Direction) -> None:
        target = neighbour(self._field(), self.cell_id, direction)
        if target is not None:
            self.select(target.id)

    def next_flagged(self, backwards: bool = False) -> None:
        case = self.cases.case
        if case is None:
            return
        found = next_flagged(case, self.field_id, self.cell_id, backwards=backwards)
        if found is None:
            self.message.emit("No cells left to review")
            return
        field_id, cell_id = found
        if field_id != self.field_id:
            self.review_field(field_id, cell_id)
        else:
            self.select(cell_id)

    def step_field(self, delta: int) -> None:
        case = self.cases.case
        if case is None or not case.fields:
            return
        index = case.field_index(self.field_id) if self.field_id else None
        index = len(case.fields) if index is None else index
        target = min(max(index + delta, 0), len(case.fields) - 1)
        self.review_field(case.fields[target].id)

    def handle_key(self, event: QKeyEvent) -> bool:
        return handle_key(self, event)

    # -- the class menu for a cell ------------------------------------------------------
    def _class_menu_for(self, cell_id: str) -> None:
        """A right-click on a cell: its class from the menu of every class (those without
        a key too); choosing one does what the class's key does."""
        if self.mode != "review" or not self.field_id:
            return
        field_id = self.field_id
        self.select(cell_id)
        cell = self._field().get(cell_id)
        if cell is None:
            return

        def chosen(class_id: str | None) -> None:
            self.relabelling = False
            if class_id is not None and self.field_id == field_id and self.cell_id == cell_id:
                self.class_key(class_id)

        current = cell.effective_class
        self.guess = current if current in self.cases.workspace.taxonomy else None
        self.relabelling = True
        self._ask_class(cell.box, chosen)

    # -- drawing a missed cell -----------------------------------------------------------
    def _box_drawn(self, box: Box) -> None:
        field_id = self.field_id
        image = self.cases.workspace.field_image(field_id) if field_id else None
        if field_id is None or image is None:
            return
        self.view.overlay.set_draft(box)

        def chosen(class_id: str | None) -> None:
            self.view.overlay.set_draft(None)
            if class_id is not None and self.field_id == field_id:
                new_id = self.cases.add_cell(field_id, box, class_id)
                self.select(new_id)

        def ask(guess: str | None) -> None:
            if self.field_id != field_id:
                self.view.overlay.set_draft(None)
                return
            self.guess = guess if guess in self.cases.workspace.taxonomy else None
            self.relabelling = False
            self._ask_class(box, chosen)

        self._guesser.guess(image, box, ask)

    # -- case changes --------------------------------------------------------------------
    def _case_changed(self, case: Case | None, field_id: str, cell_id: str) -> None:
        if self.mode == "live":  # signed off, reopened, another case: the caption says
            self.show_live_caption(lost=self._lost)
        if self.mode != "review":
            return
        field = case.get_field(self.field_id) if case is not None and self.field_id else None
        if field is None:  # the field itself was undone
            self.back_to_live()
            return
        if cell_id and field_id == self.field_id and field.get(cell_id) is not None:
            self.cell_id = cell_id  # undo/redo: show the cell it touched
        if self.cell_id is not None and field.get(self.cell_id) is None:
            self.cell_id = None
        self.view.show_cells(field, self.cell_id)
        self.class_map.follow(self.field_id or "", self.cell_id or "")  # its class may change

    def _map_changed(self) -> None:
        if self.mode == "review":
            self._caption(self._field())

    def _field(self) -> Field:
        field = self.cases.workspace.field(self.field_id) if self.field_id else None
        return field if field is not None else Field.create([], 1, 1)

    def _caption(self, field: Field) -> None:
        case = self.cases.case
        number = 0 if case is None else (case.field_index(field.id) or 0) + 1
        total = 0 if case is None else len(case.fields)
        selected = field.get(self.cell_id) if self.cell_id else None
        pending = any(c.pending_review for c in field.cells)
        text = review_caption(number, total, field, selected)
        heat = self.class_map.caption()
        text += f"  ·  {heat}" if heat else ""
        self.view.set_caption(text, "#8a5a00" if pending else "#2f6f9f")
