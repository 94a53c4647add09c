"""Helpers for the GUI tests: test pictures written with OpenCV, a recording reporter."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from hemoscope.ui.shared.errors import LoadFailure


def make_field(path: Path, width: int = 320, height: int = 200) -> np.ndarray:
    """Write a recognisable BGR test picture (gradient with a red square) to `path`."""
    x = np.linspace(0, 255, width, dtype=np.float32)
    y = np.linspace(0, 255, height, dtype=np.float32)
    image = np.zeros((height, width, 3), np.uint8)
    image[..., 0] = x[np.newaxis, :].astype(np.uint8)
    image[..., 1] = y[:, np.newaxis].astype(np.uint8)
    image[..., 2] = 180
    image[20:60, 30:70] = (0, 0, 255)
    assert cv2.imwrite(str(path), image)
    return image


class ReportedErrors(list[LoadFailure]):
    """An ErrorReporter that remembers what it was given, one call per entry in calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __call__(self, failures: list[LoadFailure]) -> None:
        self.calls += 1
        self.extend(failures)
