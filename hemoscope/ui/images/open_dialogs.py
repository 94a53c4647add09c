"""File ▸ Open Images / Open Folder and Source ▸ Video File: the file dialogs, and drops.

`OpenDialogs` asks where (remembering the last folder) and hands the choice on: images
and folders to `open_paths`, a video to `open_video`. Dropped files and folders go to
`open_paths` too (`local_paths` reads them from the drag data).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QMimeData
from PySide6.QtWidgets import QFileDialog, QWidget

from hemoscope.capture.image_files import IMAGE_EXTENSIONS

__all__ = ["FILE_FILTER", "VIDEO_FILTER", "OpenDialogs", "local_paths"]

_patterns = sorted(IMAGE_EXTENSIONS)
FILE_FILTER = "Images (" + " ".join(f"*{e} *{e.upper()}" for e in _patterns) + ");;All files (*)"
VIDEO_FILTER = "Videos (*.mp4 *.avi *.mov *.mkv);;All files (*)"


def local_paths(mime: QMimeData) -> list[Path]:
    """The local files and folders named by dragged or pasted data."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class OpenDialogs:
    def __init__(
        self,
        parent: QWidget,
        *,
        open_paths: Callable[[Iterable[Path]], object],
        open_video: Callable[[Path], object],
    ) -> None:
        self._parent = parent
        self._open_paths = open_paths
        self._open_video = open_video
        self.last_folder = Path.home()

    def images(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self._parent, "Open images", str(self.last_folder), FILE_FILTER
        )
        if files:
            self.last_folder = Path(files[0]).parent
            self._open_paths([Path(f) for f in files])

    def folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self._parent, "Open folder", str(self.last_folder)
        )
        if folder:
            self.last_folder = Path(folder)
            self._open_paths([Path(folder)])

    def video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self._parent, "Open video", str(self.last_folder), VIDEO_FILTER
        )
        if path:
            self.last_folder = Path(path).parent
            self._open_video(Path(path))
