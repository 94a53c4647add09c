"""Pick the source to start with: the first working camera, else the simulated microscope."""

from __future__ import annotations

import logging
from collections.abc import Callable

from hemoscope.capture.camera import CameraSource, CaptureFactory, list_cameras
from hemoscope.capture.simulator import SimulatedMicroscope
from hemoscope.capture.source import FrameSource, SourceError

log = logging.getLogger(__name__)


def open_best_source(
    prefer_camera: bool = True,
    *,
    max_index: int = 8,
    backend: int | None = None,
    capture_factory: CaptureFactory | None = None,
    simulator: Callable[[], FrameSource] = SimulatedMicroscope,
) -> FrameSource:
    """An opened source: the first camera that opens and delivers a frame, or else (or
    when `prefer_camera` is False) the simulated microscope made by `simulator`.

    Logs one line saying which source was chosen and why. Raises `SourceError` only if
    the simulator itself cannot be opened.
    """
    if prefer_camera:
        reasons: list[str] = []
        for camera in list_cameras(max_index, backend=backend, capture_factory=capture_factory):
            camera_source = CameraSource(
                camera.index, backend=backend, name=camera.name, capture_factory=capture_factory
            )
            try:
                info = camera_source.open()
            except SourceError as error:
                reasons.append(str(error))
                continue
            log.info("using %s (%d x %d)", info.name, info.width, info.height)
            return camera_source
        why = "; ".join(reasons) if reasons else "no camera found"
    else:
        why = "no camera wanted"
    source = simulator()
    info = source.open()
    log.info("using the %s: %s", info.name.lower(), why)
    return source


default_source = open_best_source
"""Another name for `open_best_source`."""
