"""The main window's menu actions, created in one place with their shortcuts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenuBar

__all__ = ["WindowActions", "build_menus"]

Key = QKeySequence.StandardKey


@dataclass(frozen=True)
class WindowActions:
    open_files: QAction
    open_folder: QAction
    quit: QAction
    zoom_in: QAction
    zoom_out: QAction
    fit: QAction
    actual_size: QAction
    previous_image: QAction
    next_image: QAction
    about: QAction


def _action(
    window: QMainWindow,
    text: str,
    slot: Callable[[], object],
    shortcuts: list[QKeySequence | Key | str] | None = None,
    tip: str = "",
) -> QAction:
    action = QAction(text, window)
    if shortcuts:
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
    if tip:
        action.setStatusTip(tip)
    action.triggered.connect(lambda _checked=False: slot())
    return action


def build_menus(
    window: QMainWindow, menu_bar: QMenuBar, slots: dict[str, Callable[[], object]]
) -> WindowActions:
    """Create the actions, calling ``slots[name]`` when triggered, and fill `menu_bar`."""
    a = WindowActions(
        open_files=_action(window, "&Open…", slots["open_files"], [Key.Open], "Open image files"),
        open_folder=_action(
            window,
            "Open &Folder…",
            slots["open_folder"],
            ["Ctrl+Shift+O"],
            "Open every image in a folder",
        ),
        quit=_action(window, "&Quit", slots["quit"], [Key.Quit, "Ctrl+Q"]),
        zoom_in=_action(window, "Zoom &In", slots["zoom_in"], [Key.ZoomIn, "Ctrl+="]),
        zoom_out=_action(window, "Zoom &Out", slots["zoom_out"], [Key.ZoomOut]),
        fit=_action(
            window,
            "&Fit to Window",
            slots["fit"],
            ["Ctrl+0"],
            "Show the whole image (key 0, or double-click the image)",
        ),
        actual_size=_action(
            window,
            "&Actual Pixels",
            slots["actual_size"],
            ["Ctrl+1"],
            "One image pixel per screen pixel",
        ),
        previous_image=_action(window, "&Previous Image", slots["previous_image"], ["PgUp"]),
        next_image=_action(window, "&Next Image", slots["next_image"], ["PgDown"]),
        about=_action(window, "&About HemoScope", slots["about"]),
    )
    file_menu = menu_bar.addMenu("&File")
    file_menu.addActions([a.open_files, a.open_folder])
    file_menu.addSeparator()
    file_menu.addAction(a.quit)
    view_menu = menu_bar.addMenu("&View")
    view_menu.addActions([a.zoom_in, a.zoom_out, a.fit, a.actual_size])
    view_menu.addSeparator()
    view_menu.addActions([a.previous_image, a.next_image])
    help_menu = menu_bar.addMenu("&Help")
    help_menu.addAction(a.about)
    for action in (a.zoom_in, a.zoom_out, a.fit, a.actual_size, a.previous_image, a.next_image):
        window.addAction(action)  # shortcuts work even while a menu bar is hidden
    return a
