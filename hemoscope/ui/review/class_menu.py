"""The menu that asks the class of a cell drawn by hand, or of a cell right-clicked
(`relabel`): one entry per class, each with its key (every class, also those the
laboratory left without a key: the menu is how they are reached); pressing a key picks
its class, as everywhere else in the station. The classifier's guess for the drawn cell,
or the right-clicked cell's class (`preselect`), is named in the title and highlighted:
Enter takes it. Opened with `popup` (no nested event loop): the live picture and the timers go on
while it is open."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QIcon, QKeyEvent, QPixmap
from PySide6.QtWidgets import QMenu, QWidget

from hemoscope.core import Taxonomy

__all__ = ["ClassMenu", "ask_class_with_menu"]


class ClassMenu(QMenu):
    def __init__(
        self,
        taxonomy: Taxonomy,
        chosen: Callable[[str | None], None],
        parent: QWidget | None,
        preselect: str | None = None,
        *,
        relabel: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("classMenu")
        self.taxonomy = taxonomy
        self._chosen = chosen
        self._done = False
        guess = taxonomy.get(preselect) if preselect is not None else None
        heading = "Class of the new cell (press its key)"
        if relabel:
            heading = "Class of this cell (press its key, or choose)"
            if guess is not None:
                heading = f"Now {guess.display_name} (Enter keeps it), or choose another"
        elif guess is not None:
            heading = f"Classifier's guess: {guess.display_name} (Enter), or press a key"
        title = self.addAction(heading)
        title.setEnabled(False)
        self.addSeparator()
        self.preselected: QAction | None = None
        for cls in taxonomy:
            swatch = QPixmap(12, 12)
            swatch.fill(QColor(cls.colour))
            key = taxonomy.key_for(cls.id)
            action = self.addAction(
                QIcon(swatch), f"{cls.display_name}\t{key}" if key else cls.display_name
            )
            action.triggered.connect(lambda _=False, c=cls.id: self._pick(c))
            if guess is not None and cls.id == guess.id:
                self.preselected = action
                self.setDefaultAction(action)
        if self.preselected is not None:
            self.setActiveAction(self.preselected)
        # A click hides the menu before it triggers the action: decide "dismissed" only
        # once the event that hid the menu has been handled.
        self.aboutToHide.connect(lambda: QTimer.singleShot(0, lambda: self._pick(None)))
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        cls = self.taxonomy.by_key(event.text()) if event.text() else None
        if cls is not None:
            self._pick(cls.id)
            self.close()
            return
        super().keyPressEvent(event)

    def _pick(self, class_id: str | None) -> None:
        if not self._done:
            self._done = True
            self._chosen(class_id)


def ask_class_with_menu(
    parent: QWidget,
    taxonomy: Taxonomy,
    at: QPoint,
    chosen: Callable[[str | None], None],
    preselect: str | None = None,
    *,
    relabel: bool = False,
) -> ClassMenu:
    """Pop the menu up at `at` (global); `chosen` gets the class id, or None if dismissed;
    `preselect`: the classifier's guess (the cell's class when `relabel`), highlighted."""
    menu = ClassMenu(taxonomy, chosen, parent, preselect, relabel=relabel)
    menu.popup(at, menu.preselected)
    if menu.preselected is not None:
        menu.setActiveAction(menu.preselected)
    return menu
