"""USB (UVC) microscope cameras through OpenCV's ``cv2.VideoCapture``.

Backends: V4L2 on Linux, DirectShow on Windows (it opens in well under a second where
Media Foundation can take several), AVFoundation on macOS, OpenCV's choice elsewhere;
pass ``backend=cv2.CAP_...`` to override.

Not hanging on missing or stalled devices
  - `list_cameras` on Linux probes only the indexes that have a ``/dev/videoN`` node, so
    absent cameras cost nothing; elsewhere it probes 0, 1, 2, ... and stops after two
    indexes in a row fail (Windows numbers its cameras without gaps).
  - OpenCV's V4L2 backend ignores ``CAP_PROP_OPEN_TIMEOUT_MSEC`` and
    ``CAP_PROP_READ_TIMEOUT_MSEC`` and waits up to 10 s for each frame of a camera that
    stopped streaming. Its ``OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT`` environment variable
    (seconds, read once, at the first frame) shortens that: this module sets it to 2
    unless it is already set. An unplugged camera fails its reads at once (ENODEV).

Unplug and replug
  ``read`` tolerates a couple of failed reads in a row (a corrupt MJPEG frame makes
  OpenCV's read fail once); after `MAX_FAILED_READS` it releases the device and raises
  `SourceLost` with a message for the technician. ``open`` again reconnects (the camera
  usually comes back with the same index) and raises `SourceError` while it is absent.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from hemoscope.capture.source import Frame, SourceError, SourceInfo, SourceLost

log = logging.getLogger(__name__)

if sys.platform.startswith("linux"):
    os.environ.setdefault("OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT", "2")

MAX_FAILED_READS = 3
"""Failed reads in a row after which the camera counts as lost."""
FIRST_FRAME_ATTEMPTS = 10
"""Reads tried in ``open`` before a camera that opened but sends nothing is given up."""


class VideoCaptureLike(Protocol):
    """The part of ``cv2.VideoCapture`` the camera and video sources use."""

    def isOpened(self) -> bool: ...  # OpenCV's name
    def read(self) -> tuple[bool, Any]: ...
    def set(self, prop: int, value: float) -> bool: ...
    def get(self, prop: int) -> float: ...
    def release(self) -> None: ...


CaptureFactory = Callable[[int, int], VideoCaptureLike]
"""Makes a capture for (camera index, backend); ``cv2.VideoCapture`` by default."""


@dataclass(frozen=True)
class CameraInfo:
    """A camera found by `list_cameras`: its index, a name, and its default frame size."""

    index: int
    name: str
    width: int
    height: int


def default_backend() -> int:
    """The OpenCV capture backend used for cameras on this platform."""
    if sys.platform.startswith("linux"):
        return int(cv2.CAP_V4L2)
    if sys.platform == "win32":
        return int(cv2.CAP_DSHOW)
    if sys.platform == "darwin":
        return int(cv2.CAP_AVFOUNDATION)
    return int(cv2.CAP_ANY)


def _opencv_capture(index: int, backend: int) -> VideoCaptureLike:
    return cv2.VideoCapture(index, backend)


def list_cameras(
    max_index: int = 8,
    *,
    backend: int | None = None,
    capture_factory: CaptureFactory | None = None,
) -> list[CameraInfo]:
    """The cameras that open, with indexes below `max_index` (see the module notes).

    With a `capture_factory` (tests), every index below `max_index` is probed.
    """
    factory = capture_factory or _opencv_capture
    api = default_backend() if backend is None else backend
    linux = sys.platform.startswith("linux") and capture_factory is None
    candidates = _linux_indexes(max_index) if linux else range(max_index)
    found: list[CameraInfo] = []
    misses = 0
    with _quiet_opencv():
        for index in candidates:
            info = _probe(factory, index, api)
            if info is not None:
                found.append(info)
                misses = 0
                continue
            misses += 1
            if not linux and capture_factory is None and misses >= 2:
                break
    log.info("cameras found: %s", ", ".join(f"{c.index} ({c.name})" for c in found) or "none")
    return found


def _probe(factory: CaptureFactory, index: int, api: int) -> CameraInfo | None:
    try:
        capture = factory(index, api)
    except cv2.error as error:
        log.debug("camera %d: %s", index, error)
        return None
    try:
        if not capture.isOpened():
            return None
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if width <= 0 or height <= 0:
            ok, frame = capture.read()
            if not ok or frame is None:
                return None
            height, width = frame.shape[:2]
        return CameraInfo(index, _device_name(index), width, height)
    finally:
        capture.release()


def _linux_indexes(max_index: int) -> list[int]:
    indexes = []
    for node in Path("/dev").glob("video*"):
        suffix = node.name[len("video") :]
        if suffix.isdigit() and int(suffix) < max_index:
            indexes.append(int(suffix))
    return sorted(indexes)


def _device_name(index: int) -> str:
    name_file = Path(f"/sys/class/video4linux/video{index}/name")
    with contextlib.suppress(OSError):
        name = name_file.read_text(encoding="utf-8", errors="replace").strip()
        if name:
            return f"{name} ({index})"
    return f"USB camera {index}"


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's warnings about devices that do not open (HemoScope says so itself)."""
    logging_api = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging_api is None:
        yield
        return
    previous = logging_api.getLogLevel()
    logging_api.setLogLevel(logging_api.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        logging_api.setLogLevel(previous)


class CameraSource:
    """A `FrameSource` reading a USB camera; frames come at the camera's own pace."""

    def __init__(
        self,
        index: int = 0,
        width: int | None = None,
        height: int | None = None,
        backend: int | None = None,
        *,
        fps: float | None = None,
        name: str | None = None,
        capture_factory: CaptureFactory | None = None,
    ) -> None:
        """`width`/`height`/`fps` are requests; the camera may pick the nearest it has."""
        self.index = index
        self._request = (width, height, fps)
        self._backend = default_backend() if backend is None else backend
        self._factory = capture_factory or _opencv_capture
        self._name = name or _device_name(index)
        self._capture: VideoCaptureLike | None = None
        self._pending: Frame | None = None
        self._failures = 0
        self._info = SourceInfo("camera", self._name, width or 0, height or 0, fps or 0.0)

    @property
    def info(self) -> SourceInfo:
        return self._info

    def open(self) -> SourceInfo:
        self.close()
        try:
            with _quiet_opencv():  # a camera that is not there is our message, not OpenCV's
                capture = self._factory(self.index, self._backend)
        except cv2.error as error:
            raise SourceError(f"{self._name} could not be opened: {error}") from error
        if not capture.isOpened():
            capture.release()
            raise SourceError(
                f"{self._name} could not be opened: it is not connected, "
                "or another program is using it."
            )
        width, height, fps = self._request
        for prop, value in (
            (cv2.CAP_PROP_FRAME_WIDTH, width),
            (cv2.CAP_PROP_FRAME_HEIGHT, height),
            (cv2.CAP_PROP_FPS, fps),
        ):
            if value:
                capture.set(prop, float(value))
        frame = _first_frame(capture)
        if frame is None:
            capture.release()
            raise SourceError(f"{self._name} opened but sends no pictures.")
        actual_h, actual_w = frame.shape[:2]
        if (width and width != actual_w) or (height and height != actual_h):
            log.warning(
                "%s: asked for %sx%s, the camera gives %dx%d",
                self._name,
                width or "?",
                height or "?",
                actual_w,
                actual_h,
            )
        rate = capture.get(cv2.CAP_PROP_FPS)
        rate = float(rate) if 0 < rate < 1000 else float(fps or 30.0)
        self._capture, self._pending, self._failures = capture, frame, 0
        self._info = SourceInfo("camera", self._name, actual_w, actual_h, rate)
        log.info("%s open: %d x %d at %g fps", self._name, actual_w, actual_h, rate)
        return self._info

    def read(self) -> Frame:
        if self._pending is not None:
            first, self._pending = self._pending, None
            return first
        capture = self._capture
        if capture is None:
            raise SourceError(f"{self._name} is not open.")
        while True:
            ok, raw = capture.read()
            frame = as_bgr_frame(raw) if ok else None
            if frame is not None:
                self._failures = 0
                return frame
            self._failures += 1
            if self._failures >= MAX_FAILED_READS:
                self.close()
                log.warning("%s lost after %d failed reads", self._name, MAX_FAILED_READS)
                raise SourceLost(
                    f"{self._name} stopped sending pictures (unplugged?). Plug it back in "
                    "and reconnect; the case is kept."
                )

    def close(self) -> None:
        capture, self._capture, self._pending = self._capture, None, None
        if capture is not None:
            capture.release()


def _first_frame(capture: VideoCaptureLike) -> Frame | None:
    for _ in range(FIRST_FRAME_ATTEMPTS):
        ok, raw = capture.read()
        frame = as_bgr_frame(raw) if ok else None
        if frame is not None:
            return frame
    return None


def as_bgr_frame(raw: Any) -> Frame | None:
    """What the camera gave as an 8-bit BGR frame, or None if it is unusable."""
    if not isinstance(raw, np.ndarray) or raw.size == 0 or raw.dtype != np.uint8:
        return None
    if raw.ndim == 2:
        return np.asarray(cv2.cvtColor(raw, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    if raw.ndim == 3 and raw.shape[2] == 4:
        return np.asarray(cv2.cvtColor(raw, cv2.COLOR_BGRA2BGR), dtype=np.uint8)
    if raw.ndim == 3 and raw.shape[2] == 3:
        return np.ascontiguousarray(raw)
    return None
