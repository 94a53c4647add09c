"""The station's sources from `hemoscope.capture`: the catalogue behind the Source menu,
and opening the best source at start without blocking the window.

`CaptureCatalog` lists the USB cameras found and the simulated microscope, and plays
video files. `BestSourceOpener` opens the start source (the camera chosen in the
settings, else `open_best_source`: the first camera that delivers, else the simulated
microscope; about a second either way) on a worker thread and hands it back by signal,
so the window is up at once and the live picture follows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QStandardPaths, QThreadPool, Signal

from hemoscope.capture.best import open_best_source
from hemoscope.capture.camera import CameraSource, list_cameras
from hemoscope.capture.simulator import SimulatedMicroscope
from hemoscope.capture.smear_cache import cache_dir_from_env
from hemoscope.capture.source import FrameSource, SourceError
from hemoscope.capture.video import VideoFileSource
from hemoscope.ui.live.source_menu import SourceChoice

__all__ = ["BestSourceOpener", "CaptureCatalog", "open_start_source", "source_key"]

log = logging.getLogger(__name__)

SIMULATED = "simulated"


def source_key(source: FrameSource) -> str:
    """The Source menu's key for a source made elsewhere (the one opened at start)."""
    if isinstance(source, CameraSource):
        return f"camera:{source.index}"
    if isinstance(source, SimulatedMicroscope):
        return SIMULATED
    if isinstance(source, VideoFileSource):
        return f"video:{source.path}"
    return ""


Size = tuple[int, int] | None
"""A frame size to ask of a camera (width, height); None: the camera's default."""


class CaptureCatalog:
    """Cameras (probed when asked: slow), the simulated microscope, video files.

    ``camera_size`` says, when a camera is opened, what frame size to ask of it (the
    settings' resolution; it is read each time, so a changed setting applies at once).
    """

    def __init__(self, *, max_cameras: int = 8, camera_size: Callable[[], Size] = lambda: None):
        self.max_cameras = max_cameras
        self.camera_size = camera_size

    def choices(self) -> list[SourceChoice]:
        found = [
            SourceChoice(
                f"camera:{camera.index}",
                f"{camera.name} ({camera.width}×{camera.height})",
                self._camera_maker(camera.index, camera.name),
            )
            for camera in list_cameras(self.max_cameras)
        ]
        found.append(SourceChoice(SIMULATED, "Simulated microscope (demo)", simulated_microscope))
        return found

    def video(self, path: Path) -> FrameSource:
        return VideoFileSource(path)

    def _camera_maker(self, index: int, name: str) -> Callable[[], FrameSource]:
        def make() -> FrameSource:
            width, height = self.camera_size() or (None, None)
            return CameraSource(index, width, height, name=name)

        return make


def open_start_source(
    camera_index: int | None, *, prefer_camera: bool = True, size: Size = None
) -> FrameSource:
    """The source to start with, opened: the camera chosen in the settings when it opens
    (asked for `size`), else the first camera that delivers, else the simulated
    microscope."""
    if prefer_camera and camera_index is not None:
        width, height = size or (None, None)
        camera = CameraSource(camera_index, width, height)
        try:
            camera.open()
        except SourceError as error:
            log.info("the camera chosen in the settings (%d) is not there: %s", camera_index, error)
        else:
            return camera
    return open_best_source(prefer_camera, simulator=simulated_microscope)


def simulated_microscope() -> SimulatedMicroscope:
    """The demo source, its smear kept in the station's cache folder (the second start
    shows it at once)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation)
    folder = cache_dir_from_env(Path(base) / "simulator" if base else None)
    return SimulatedMicroscope(cache_dir=folder)


class BestSourceOpener(QObject):
    """Opens the best source on a worker thread; `opened` (source, already open) or
    `failed` (why) follows."""

    opened = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        *,
        prefer_camera: bool = True,
        camera_index: int | None = None,
        camera_size: Size = None,
        open_source: Callable[[], FrameSource] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._open = open_source or (
            lambda: open_start_source(camera_index, prefer_camera=prefer_camera, size=camera_size)
        )
        self._pool = QThreadPool(self)
        self._pool.setObjectName("hemoscope-open-source")
        self._pool.setMaxThreadCount(1)

    def start(self) -> None:
        self._pool.start(_Open(self))

    def wait(self, timeout_ms: int = 10_000) -> bool:
        return bool(self._pool.waitForDone(timeout_ms))


class _Open(QRunnable):
    def __init__(self, opener: BestSourceOpener) -> None:
        super().__init__()
        self._opener = opener

    def run(self) -> None:
        try:
            source = self._opener._open()
        except Exception as error:  # SourceError, or a bug: the window says so
            log.exception("no source could be opened")
            self._opener.failed.emit(str(error))
            return
        self._opener.opened.emit(source)
