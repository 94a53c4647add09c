"""The one protocol every frame source implements (camera, files, video, simulator).

A source is opened once, then polled: the capture thread calls :meth:`FrameSource.read`
as fast as the source delivers and keeps only the newest frame; the live view pulls that
frame on a timer. Frames are 8-bit BGR ``(H, W, 3)`` numpy arrays (OpenCV's order).

Errors are values, not surprises: a source that loses its device (an unplugged camera)
raises :class:`SourceLost` from ``read``; the caller shows the status, keeps the case,
and may call ``open`` again to reconnect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]


class SourceError(RuntimeError):
    """A source could not be opened or configured; the message says why in plain words."""


class SourceLost(SourceError):
    """A source that was working stopped delivering frames (device unplugged, file gone)."""


@dataclass(frozen=True)
class SourceInfo:
    """What the status bar shows about a source."""

    kind: str  # "camera", "files", "video", "simulated"
    name: str  # e.g. "USB camera 0", "smear-12/", "Simulated microscope"
    width: int
    height: int
    fps: float  # nominal frames per second (0 when stepping through still images)


@runtime_checkable
class FrameSource(Protocol):
    """A source of microscope frames."""

    def open(self) -> SourceInfo:
        """Open (or reopen) the device or file; raise :class:`SourceError` if impossible."""
        ...

    def read(self) -> Frame:
        """Block until the next frame is available and return it.

        Paces itself to the source's rate (a camera blocks on the device; the simulator
        and video files sleep to their nominal rate). Raises :class:`SourceLost`.
        """
        ...

    def close(self) -> None:
        """Release the device or file; safe to call twice."""
        ...

    @property
    def info(self) -> SourceInfo:
        """The current description (valid after ``open``)."""
        ...
