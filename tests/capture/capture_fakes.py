"""A scripted stand-in for cv2.VideoCapture: a camera that can be unplugged and replugged."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np


@dataclass
class FakeDevice:
    """One USB camera as the fake OpenCV sees it."""

    width: int = 640
    height: int = 480
    sizes: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720), (1920, 1080))
    fps: float = 30.0
    plugged: bool = True
    busy: bool = False  # opened by another program
    dead_frames: int = 0  # reads that fail right after opening
    glitches: list[int] = field(default_factory=list)  # frame numbers that fail once
    frames_read: int = 0
    opens: int = 0
    releases: int = 0
    requested: list[tuple[int, float]] = field(default_factory=list)

    def frame(self) -> np.ndarray:
        image = np.zeros((self.height, self.width, 3), np.uint8)
        image[:, :, 1] = self.frames_read % 256
        return image


class FakeCapture:
    """Implements the part of cv2.VideoCapture that the sources use."""

    def __init__(self, device: FakeDevice | None) -> None:
        self.device = device
        self.opened = device is not None and device.plugged and not device.busy
        self.released = False
        self.failed_start = device.dead_frames if device is not None else 0
        if self.opened and device is not None:
            device.opens += 1

    def isOpened(self) -> bool:
        return self.opened and not self.released

    def read(self) -> tuple[bool, Any]:
        device = self.device
        if device is None or not self.isOpened() or not device.plugged:
            return False, None
        if self.failed_start > 0:
            self.failed_start -= 1
            return False, None
        device.frames_read += 1
        if device.frames_read in device.glitches:
            device.glitches.remove(device.frames_read)
            return False, None
        return True, device.frame()

    def set(self, prop: int, value: float) -> bool:
        device = self.device
        if device is None or not self.isOpened():
            return False
        device.requested.append((prop, value))
        if prop == cv2.CAP_PROP_FRAME_WIDTH:
            fits = [s for s in device.sizes if s[0] >= value] or [device.sizes[-1]]
            device.width, device.height = fits[0]
            return True
        if prop == cv2.CAP_PROP_FRAME_HEIGHT:
            fits = [s for s in device.sizes if s[0] >= device.width and s[1] >= value]
            device.width, device.height = (fits or [device.sizes[-1]])[0]
            return True
        return prop == cv2.CAP_PROP_FPS

    def get(self, prop: int) -> float:
        device = self.device
        if device is None or not self.isOpened():
            return 0.0
        return {
            cv2.CAP_PROP_FRAME_WIDTH: float(device.width),
            cv2.CAP_PROP_FRAME_HEIGHT: float(device.height),
            cv2.CAP_PROP_FPS: device.fps,
        }.get(prop, 0.0)

    def release(self) -> None:
        if not self.released and self.opened and self.device is not None:
            self.device.releases += 1
        self.released = True


class FakeCameras:
    """A capture factory over a few fake devices, by index; records what was opened."""

    def __init__(self, devices: dict[int, FakeDevice]) -> None:
        self.devices = devices
        self.calls: list[tuple[int, int]] = []

    def __call__(self, index: int, backend: int) -> FakeCapture:
        self.calls.append((index, backend))
        return FakeCapture(self.devices.get(index))
