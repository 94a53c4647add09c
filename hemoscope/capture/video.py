"""Video files (a recorded microscope session) through ``cv2.VideoCapture`` (FFmpeg).

Frames are paced to the file's own frame rate with the monotonic clock (`Pacer`). At the
end the video starts again (``loop=True``) or ``read`` raises `VideoEnded`, a kind of
`SourceLost` whose message says the video is over rather than that a device was lost.
A file that cannot be read any more (deleted, a network share gone) raises `SourceLost`.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import cv2

from hemoscope.capture.camera import VideoCaptureLike, as_bgr_frame
from hemoscope.capture.pacing import Pacer
from hemoscope.capture.source import Frame, SourceError, SourceInfo, SourceLost

log = logging.getLogger(__name__)

FALLBACK_FPS = 25.0
"""Rate used when the file does not say (or says something absurd)."""

VideoFactory = Callable[[str], VideoCaptureLike]


class VideoEnded(SourceLost):
    """A video file without looping reached its end."""


def _opencv_video(path: str) -> VideoCaptureLike:
    return cv2.VideoCapture(path, cv2.CAP_ANY)


class VideoFileSource:
    """A `FrameSource` playing a video file at its own frame rate."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        loop: bool = True,
        capture_factory: VideoFactory | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = Path(path)
        self.loop = loop
        self._factory = capture_factory or _opencv_video
        self._clock, self._sleep = clock, sleep
        self._pacer = Pacer(0.0, clock=clock, sleep=sleep)
        self._capture: VideoCaptureLike | None = None
        self._pending: Frame | None = None
        self._position = 0
        self.frame_count = 0
        self._info = SourceInfo("video", self.path.name, 0, 0, 0.0)

    @property
    def info(self) -> SourceInfo:
        return self._info

    @property
    def position(self) -> int:
        """Index in the file of the next frame `read` returns."""
        return self._position

    def open(self) -> SourceInfo:
        self.close()
        if not self.path.is_file():
            raise SourceError(f"The video file {self.path.name} was not found.")
        capture = self._start()
        frame = self._read_frame(capture)
        if frame is None:
            capture.release()
            raise SourceError(f"The video file {self.path.name} holds no frames.")
        fps = capture.get(cv2.CAP_PROP_FPS)
        if not (math.isfinite(fps) and 0 < fps <= 1000):
            log.info("%s gives no usable frame rate (%s); using %g", self.path, fps, FALLBACK_FPS)
            fps = FALLBACK_FPS
        count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        self.frame_count = int(count) if math.isfinite(count) and count > 0 else 0
        self._capture, self._pending, self._position = capture, frame, 0
        self._pacer = Pacer(float(fps), clock=self._clock, sleep=self._sleep)
        height, width = frame.shape[:2]
        self._info = SourceInfo("video", self.path.name, width, height, float(fps))
        log.info(
            "video %s open: %d x %d at %g fps, %d frames",
            self.path,
            width,
            height,
            fps,
            self.frame_count,
        )
        return self._info

    def read(self) -> Frame:
        if self._capture is None:
            raise SourceError(f"The video file {self.path.name} is not open.")
        self._pacer.wait()
        frame, self._pending = self._pending, None
        if frame is None:
            frame = self._read_frame(self._capture)
        if frame is None and self.loop and self._position > 0:
            frame = self._rewind()
        if frame is None:
            self.close()
            if not self.loop and self.path.is_file():
                raise VideoEnded(f"End of the video {self.path.name}.")
            raise SourceLost(f"The video file {self.path.name} can no longer be read.")
        self._position += 1
        return frame

    def close(self) -> None:
        capture, self._capture, self._pending = self._capture, None, None
        if capture is not None:
            capture.release()

    def _start(self) -> VideoCaptureLike:
        try:
            capture = self._factory(str(self.path))
        except cv2.error as error:
            raise SourceError(
                f"The video file {self.path.name} cannot be played: {error}"
            ) from error
        if not capture.isOpened():
            capture.release()
            raise SourceError(
                f"The video file {self.path.name} cannot be played: it is not a video, "
                "or in a format this computer cannot read."
            )
        return capture

    def _read_frame(self, capture: VideoCaptureLike) -> Frame | None:
        ok, raw = capture.read()
        return as_bgr_frame(raw) if ok else None

    def _rewind(self) -> Frame | None:
        """Back to the first frame: seek, or open the file again if it does not seek."""
        log.debug("video %s: end after %d frames, looping", self.path, self._position)
        self._position = 0
        capture, self._capture = self._capture, None
        if capture is not None:
            if capture.set(cv2.CAP_PROP_POS_FRAMES, 0):
                frame = self._read_frame(capture)
                if frame is not None:
                    self._capture = capture
                    return frame
            capture.release()
        try:
            self._capture = self._start()
        except SourceError as error:
            log.warning("video %s: cannot start again: %s", self.path, error)
            return None
        return self._read_frame(self._capture)
