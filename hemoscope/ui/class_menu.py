"""The menu that asks the class of a cell drawn by hand: one entry per class, each with its
key; pressing the key picks it, as everywhere else in the station. Opened with `popup`
(no nested event loop): the live picture and the timers go on while it is open."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QColor, QIcon, QKeyEvent, QPixmap
from PySide6.QtWidgets import QMenu, QWidget

from hemoscope.core import Taxonomy

__all__ = ["ClassMenu", "ask_class_with_menu"]


class ClassMenu(QMenu):
    def __init__(
        self, taxonomy: Taxonomy, chosen: Callable[[str | None], None], parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("classMenu")
        self.taxonomy = taxonomy
        self._chosen = chosen
        self._done = False
        title = self.addAction("Class of the new cell (press its key)")
        title.setEnabled(False)
        self.addSeparator()
        for cls in taxonomy:
            swatch = QPixmap(12, 12)
            swatch.fill(QColor(cls.colour))
            action = self.addAction(
                QIcon(swatch), f"{cls.display_name}\t{taxonomy.key_for(cls.id)}"
            )
            action.triggered.connect(lambda _=False, c=cls.id: self._pick(c))
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
    parent: QWidget, taxonomy: Taxonomy, at: QPoint, chosen: Callable[[str | None], None]
) -> ClassMenu:
    """Pop the menu up at `at` (global); `chosen` gets the class id, or None if dismissed."""
    menu = ClassMenu(taxonomy, chosen, parent)
    menu.popup(at)
    return menu
