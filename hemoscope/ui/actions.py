"""The main window's menus and actions, created in one place with their shortcuts.

Class keys (1-9, 0, -, = by default; editable) are window-wide actions too, so that they
work whatever has the focus, except a text field, which keeps its typing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QUndoStack
from PySide6.QtWidgets import QMainWindow, QMenu, QMenuBar

from hemoscope.core import Taxonomy

__all__ = ["ClassKeys", "WindowActions", "build_menus"]

Key = QKeySequence.StandardKey
Slot = Callable[[], object]


@dataclass(frozen=True)
class WindowActions:
    open_files: QAction
    open_folder: QAction
    new_case: QAction
    open_case: QAction
    close_case: QAction
    case_details: QAction
    sign_off: QAction
    reopen: QAction
    export_pdf: QAction
    print_report: QAction
    export_csv: QAction
    export_json: QAction
    export_retraining: QAction
    settings: QAction
    quit: QAction
    undo: QAction
    redo: QAction
    capture: QAction
    manual: QAction
    blasts_suspected: QAction
    next_flagged: QAction
    reconnect: QAction
    open_video: QAction
    zoom_in: QAction
    zoom_out: QAction
    fit: QAction
    actual_size: QAction
    show_minor: QAction
    show_labels: QAction
    previous_image: QAction
    next_image: QAction
    about: QAction
    source_menu: QMenu
    source_group: QActionGroup


def _action(
    window: QMainWindow,
    text: str,
    slot: Slot,
    shortcuts: list[QKeySequence | Key | str] | None = None,
    tip: str = "",
    *,
    checkable: bool = False,
    checked: bool = False,
) -> QAction:
    action = QAction(text, window)
    if shortcuts:
        # Once each: a sequence given twice (QKeySequence.Quit is Ctrl+Q on Linux) makes
        # Qt call the shortcut ambiguous and do nothing.
        sequences: list[QKeySequence] = []
        for s in shortcuts:
            sequence = QKeySequence(s)
            if not sequence.isEmpty() and sequence not in sequences:
                sequences.append(sequence)
        action.setShortcuts(sequences)
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    if checkable:
        action.setCheckable(True)
        action.setChecked(checked)
        action.toggled.connect(lambda _on: slot())
    else:
        action.triggered.connect(lambda _checked=False: slot())
    return action


def build_menus(
    window: QMainWindow, menu_bar: QMenuBar, slots: dict[str, Slot], undo_stack: QUndoStack
) -> WindowActions:
    """Create the actions, calling ``slots[name]`` when triggered, and fill `menu_bar`."""
    undo = undo_stack.createUndoAction(window, "&Undo")
    undo.setShortcuts([QKeySequence(Key.Undo)])
    redo = undo_stack.createRedoAction(window, "&Redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    a = WindowActions(
        open_files=_action(window, "&Open Images…", slots["open_files"], [Key.Open],
                           "Open image files as the source"),
        open_folder=_action(window, "Open &Folder…", slots["open_folder"], ["Ctrl+Shift+O"],
                            "Open every image in a folder"),
        new_case=_action(window, "&New Case…", slots["new_case"], [Key.New],
                         "Close this case (it is saved) and start another"),
        open_case=_action(window, "&Open Case…", slots["open_case"], ["Ctrl+F"],
                          "Find a saved case by sample or patient ID and open it"),
        close_case=_action(window, "&Close Case", slots["close_case"], [Key.Close],
                           "Close this case (it is saved); the next capture starts another"),
        case_details=_action(window, "Case &Details…", slots["case_details"], ["Ctrl+I"],
                             "Sample and patient IDs, operator, analyser WBC, comments"),
        sign_off=_action(window, "&Sign Off…", slots["sign_off"], ["Ctrl+Shift+S"],
                         "Sign the differential off (locks the case)"),
        reopen=_action(window, "&Reopen…", slots["reopen"], [],
                       "Reopen a signed-off case to amend it (a reason is recorded)"),
        export_pdf=_action(window, "Export &PDF…", slots["export_pdf"], ["Ctrl+E"],
                           "Write the differential report as a PDF file"),
        print_report=_action(window, "&Print…", slots["print_report"], [Key.Print],
                             "Print the differential report (with a preview)"),
        export_csv=_action(window, "Export &CSV…", slots["export_csv"], [],
                           "One row per cell, and a summary per class"),
        export_json=_action(window, "Export &JSON…", slots["export_json"], [],
                            "The whole case, with every cell and its decisions"),
        export_retraining=_action(window, "Export for &Retraining…",
                                  slots["export_retraining"], [],
                                  "Corrected cells and fields for training on this "
                                  "microscope's images"),
        settings=_action(window, "&Settings…", slots["settings"], ["Ctrl+,"]),
        quit=_action(window, "&Quit", slots["quit"], [Key.Quit, "Ctrl+Q"]),
        undo=undo,
        redo=redo,
        capture=_action(window, "&Capture Field", slots["capture"], ["Space"],
                        "Capture the field into the case (Space); Space again: back to live"),
        manual=_action(window, "&Manual Count Mode", slots["manual"], ["Ctrl+M"],
                       "Count at the eyepiece with the class keys", checkable=True),
        blasts_suspected=_action(window, "&Blasts Suspected: High Review Sensitivity",
                                 slots["blasts_suspected"], ["Ctrl+Shift+B"],
                                 "Flag more cells unlike every known class for review, for "
                                 "samples where blasts or other abnormal cells are suspected "
                                 "(Settings ▸ Models ▸ Review sensitivity)", checkable=True),
        next_flagged=_action(window, "Next Cell to &Review", slots["next_flagged"], [],
                             "Tab while reviewing a field"),
        reconnect=_action(window, "&Reconnect", slots["reconnect"], ["Ctrl+R"],
                          "Open the source again (after the camera was unplugged)"),
        open_video=_action(window, "&Video File…", slots["open_video"], [],
                           "Play a recorded video as the source"),
        zoom_in=_action(window, "Zoom &In", slots["zoom_in"], [Key.ZoomIn, "Ctrl+="]),
        zoom_out=_action(window, "Zoom &Out", slots["zoom_out"], [Key.ZoomOut]),
        fit=_action(window, "&Fit to Window", slots["fit"], ["Ctrl+0"],
                    "Show the whole image (Ctrl+0, or double-click the image)"),
        actual_size=_action(window, "&Actual Pixels", slots["actual_size"], ["Ctrl+1"],
                            "One image pixel per screen pixel"),
        show_minor=_action(window, "Show Red Cells and &Platelets", slots["show_minor"],
                           ["Ctrl+B"], checkable=True, checked=False),
        show_labels=_action(window, "Show &Labels", slots["show_labels"], ["Ctrl+L"],
                            checkable=True, checked=True),
        previous_image=_action(window, "&Previous Image or Field", slots["previous"], ["PgUp"]),
        next_image=_action(window, "&Next Image or Field", slots["next"], ["PgDown"]),
        about=_action(window, "&About HemoScope", slots["about"]),
        source_menu=QMenu("&Source", window),
        source_group=QActionGroup(window),
    )  # fmt: skip
    file_menu = menu_bar.addMenu("&File")
    file_menu.addActions([a.open_files, a.open_folder])
    file_menu.addSeparator()
    file_menu.addAction(a.settings)
    file_menu.addSeparator()
    file_menu.addAction(a.quit)
    edit_menu = menu_bar.addMenu("&Edit")
    edit_menu.addActions([a.undo, a.redo])
    case_menu = menu_bar.addMenu("C&ase")
    case_menu.addActions([a.new_case, a.open_case, a.close_case, a.case_details])
    case_menu.addSeparator()
    case_menu.addActions([a.sign_off, a.reopen])
    report_menu = menu_bar.addMenu("&Report")
    report_menu.addActions([a.export_pdf, a.print_report])
    report_menu.addSeparator()
    report_menu.addActions([a.export_csv, a.export_json, a.export_retraining])
    menu_bar.addMenu(a.source_menu)
    count_menu = menu_bar.addMenu("&Count")
    count_menu.addActions([a.capture, a.next_flagged, a.manual])
    count_menu.addSeparator()
    count_menu.addAction(a.blasts_suspected)
    view_menu = menu_bar.addMenu("&View")
    view_menu.addActions([a.zoom_in, a.zoom_out, a.fit, a.actual_size])
    view_menu.addSeparator()
    view_menu.addActions([a.show_minor, a.show_labels])
    view_menu.addSeparator()
    view_menu.addActions([a.previous_image, a.next_image])
    help_menu = menu_bar.addMenu("&Help")
    help_menu.addAction(a.about)
    a.source_group.setExclusive(True)
    for action in (a.zoom_in, a.zoom_out, a.fit, a.actual_size, a.previous_image, a.next_image,
                   a.capture, a.undo, a.redo, a.manual, a.reconnect,
                   a.blasts_suspected):  # fmt: skip
        window.addAction(action)  # shortcuts work even while a menu bar is hidden
    return a


class ClassKeys:
    """One window-wide action per class that has a key, its shortcut the class key."""

    def __init__(self, window: QMainWindow, pressed: Callable[[str], None]) -> None:
        self._window = window
        self._pressed = pressed
        self.actions: dict[str, QAction] = {}

    def bind(self, taxonomy: Taxonomy) -> None:
        for action in self.actions.values():
            self._window.removeAction(action)
            action.deleteLater()
        self.actions = {}
        for cls in taxonomy:
            key = taxonomy.key_for(cls.id)
            if not key:
                continue  # no key: the class menu (right-click a cell) gives this class
            action = QAction(cls.display_name, self._window)
            action.setShortcut(QKeySequence(key))
            action.triggered.connect(lambda _=False, c=cls.id: self._pressed(c))
            self._window.addAction(action)
            self.actions[cls.id] = action
