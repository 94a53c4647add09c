"""The Source menu: the cameras found, the simulated microscope, image files, a video file,
and Reconnect.

What sources exist is the `SourceCatalog`'s business (the application builds one over
`hemoscope.capture`; tests give their own). Looking for cameras can take seconds (OpenCV
opens each device), so `choices` is called on a worker thread, at start and from
"Search for Cameras Again"; the menu is refilled when the answer comes back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from hemoscope.capture.source import FrameSource
from hemoscope.ui.actions import WindowActions

__all__ = ["SourceCatalog", "SourceChoice", "SourceMenu"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceChoice:
    key: str  # stable identity, e.g. "simulated", "camera:0"
    label: str  # menu text, e.g. "USB camera 0 (1280×960)"
    make: Callable[[], FrameSource]


class SourceCatalog(Protocol):
    def choices(self) -> list[SourceChoice]:
        """The sources on offer now (may be slow: it may probe the cameras)."""
        ...

    def video(self, path: Path) -> FrameSource:
        """A source that plays the video file at `path`."""
        ...


class SourceMenu(QObject):
    _found = Signal(list)  # list[SourceChoice], from the search thread

    def __init__(
        self,
        actions: WindowActions,
        catalog: SourceCatalog | None,
        *,
        choose: Callable[[FrameSource | None], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.menu: QMenu = actions.source_menu
        self.catalog = catalog
        self._actions = actions
        self._choose = choose
        self.choices: list[SourceChoice] = []
        self._made: dict[int, str] = {}  # id(source) -> choice key, for the check mark
        self._current = ""
        self._pool = QThreadPool(self)
        self._pool.setObjectName("hemoscope-cameras")
        self._pool.setMaxThreadCount(1)
        self._found.connect(self._searched)
        self.searching = False
        actions.open_video.setEnabled(catalog is not None)
        self._fill([])
        self.search()

    def search(self) -> None:
        """Look for sources again (on a worker thread)."""
        if self.catalog is None or self.searching:
            return
        self.searching = True
        self._fill(self.choices)
        self._pool.start(_Search(self, self.catalog))

    def video(self, path: Path) -> FrameSource | None:
        if self.catalog is None:
            return None
        source = self.catalog.video(path)
        self._made[id(source)] = f"video:{path}"
        return source

    def remember(self, source: FrameSource, key: str) -> None:
        """`source` (made elsewhere, e.g. at start) is the menu's entry `key`."""
        self._made[id(source)] = key

    def mark(self, source: FrameSource | None) -> None:
        """Check the menu entry of the source now shown."""
        self._current = "" if source is None else self._made.get(id(source), "")
        for action in self._actions.source_group.actions():
            action.setChecked(action.data() == self._current)

    def shutdown(self) -> None:
        self._pool.waitForDone(10_000)

    def _fill(self, choices: list[SourceChoice]) -> None:
        self.choices = list(choices)
        menu, group = self.menu, self._actions.source_group
        for action in group.actions():
            group.removeAction(action)
        menu.clear()
        if self.catalog is None:
            note = menu.addAction("No sources configured")
            note.setEnabled(False)
        for choice in self.choices:
            action = QAction(choice.label, menu)
            action.setCheckable(True)
            action.setData(choice.key)
            action.setChecked(choice.key == self._current)
            action.triggered.connect(lambda _=False, c=choice: self._pick(c))
            group.addAction(action)
            menu.addAction(action)
        if self.catalog is not None:
            again = menu.addAction("Searching for cameras…" if self.searching else
                                   "Search for Cameras Again")  # fmt: skip
            again.setEnabled(not self.searching)
            again.triggered.connect(self.search)
        menu.addSeparator()
        menu.addActions([self._actions.open_files, self._actions.open_folder,
                         self._actions.open_video])  # fmt: skip
        menu.addSeparator()
        menu.addAction(self._actions.reconnect)

    def _pick(self, choice: SourceChoice) -> None:
        try:
            source = choice.make()
        except Exception as error:
            log.warning("cannot make source %s: %s", choice.label, error)
            return
        self._made[id(source)] = choice.key
        self._choose(source)

    def _searched(self, choices: list[SourceChoice]) -> None:
        self.searching = False
        self._fill(choices)


class _Search(QRunnable):
    def __init__(self, menu: SourceMenu, catalog: SourceCatalog) -> None:
        super().__init__()
        self._menu = menu
        self._catalog = catalog

    def run(self) -> None:
        try:
            found = self._catalog.choices()
        except Exception:
            log.exception("looking for sources failed")
            found = []
        self._menu._found.emit(found)
