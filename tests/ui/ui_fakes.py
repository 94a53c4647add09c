"""Test doubles for the station: a frame source and a pipeline that need no camera or model.

`FakeSource` implements the `FrameSource` protocol: it serves a smear-like picture at a
steady rate (each frame numbered in its top-left pixels), and can be made to lose its
device (`lose`) and to refuse reopening a few times; its stage moves to a field that
overlaps no other (`move_stage`). `FakePipeline` implements
``analyze``: fixed cells (three white cells, one of them flagged for review for low
confidence, a few red cells and platelets), after an optional delay.
"""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np

from hemoscope.capture.source import Frame, SourceError, SourceInfo, SourceLost
from hemoscope.core import REASON_LOW_CONFIDENCE, Box, Cell, CellKind, Field

WBC_BOXES = [(60, 60, 120, 120), (300, 200, 370, 270), (500, 80, 560, 140)]
WBC_CLASSES = ["neutrophil", "lymphocyte", "monocyte"]
WBC_PROBS = [0.97, 0.92, 0.41]  # the third is below the review threshold
RBC_BOXES = [(150, 300, 200, 350), (220, 320, 270, 370), (420, 360, 470, 410)]
PLT_BOXES = [(260, 120, 272, 132)]


def smear(width: int = 640, height: int = 480, field: int = 0) -> Frame:
    """The fake field: its cells on a plain background; another `field` (after a stage
    move) puts them on a background of other small specks, a picture that does not
    overlap the others."""
    image = np.full((height, width, 3), (225, 215, 235), np.uint8)
    rng = np.random.default_rng(field)
    for _ in range(400 if field else 0):
        x, y, r = (
            int(rng.integers(0, width)),
            int(rng.integers(0, height)),
            int(rng.integers(4, 14)),
        )
        cv2.circle(image, (x, y), r, tuple(int(v) for v in rng.integers(120, 230, 3)), -1)
    for x1, y1, x2, y2 in RBC_BOXES:
        cv2.circle(image, ((x1 + x2) // 2, (y1 + y2) // 2), (x2 - x1) // 2, (170, 150, 215), -1)
    for x1, y1, x2, y2 in WBC_BOXES:
        cv2.circle(image, ((x1 + x2) // 2, (y1 + y2) // 2), (x2 - x1) // 2, (150, 60, 110), -1)
    return image


class FakeSource:
    """A FrameSource serving numbered copies of `smear()` at `fps`."""

    def __init__(self, fps: float = 30.0, width: int = 640, height: int = 480) -> None:
        self.fps = fps
        self._base = smear(width, height)
        self.field = 0  # the stage's position: each move shows a field of its own
        self._info = SourceInfo("simulated", "Fake microscope", width, height, fps)
        self._lock = threading.Lock()
        self._lost = False
        self.refuse_opens = 0  # fail this many open() calls (a cable still out)
        self.opens = 0
        self.closed = 0
        self.frames = 0
        self._next = 0.0

    def open(self) -> SourceInfo:
        with self._lock:
            self.opens += 1
            if self.refuse_opens > 0:
                self.refuse_opens -= 1
                raise SourceError("no camera on this port")
            self._lost = False
        self._next = time.monotonic()
        return self._info

    def read(self) -> Frame:
        with self._lock:
            if self._lost:
                raise SourceLost("the camera was unplugged")
        if self.fps > 0:
            delay = self._next - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._next = max(self._next + 1 / self.fps, time.monotonic() - 1 / self.fps)
        frame = self._base.copy()
        self.frames += 1
        frame[0, 0] = (self.frames % 256, (self.frames // 256) % 256, 0)
        return frame

    def close(self) -> None:
        self.closed += 1

    def move_stage(self, dx: float, dy: float) -> None:
        """Any stage move shows a new field (the fake pipeline finds the same cells)."""
        self.field += 1
        self._base = smear(self._info.width, self._info.height, self.field)

    @property
    def info(self) -> SourceInfo:
        return self._info

    def lose(self, refuse_opens: int = 0) -> None:
        """Simulate an unplugged cable: read() raises SourceLost from now on."""
        with self._lock:
            self._lost = True
            self.refuse_opens = refuse_opens


class FakePipeline:
    """analyze(frame) -> a Field with fixed cells; counts calls; optional delay."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.calls = 0
        self.threads: set[str] = set()

    def analyze(self, frame: Frame, *, source: str = "") -> Field:
        self.calls += 1
        self.threads.add(threading.current_thread().name)
        if self.delay_s:
            time.sleep(self.delay_s)
        cells = [
            Cell.create(
                Box(*box),
                CellKind.WBC,
                auto_class=cls,
                score=0.9,
                probability=p,
                review=p < 0.6,
                review_reason=REASON_LOW_CONFIDENCE if p < 0.6 else "",
            )
            for box, cls, p in zip(WBC_BOXES, WBC_CLASSES, WBC_PROBS, strict=True)
        ]
        cells += [Cell.create(Box(*b), CellKind.RBC, score=0.8) for b in RBC_BOXES]
        cells += [Cell.create(Box(*b), CellKind.PLATELET, score=0.7) for b in PLT_BOXES]
        return Field.create(cells, frame.shape[1], frame.shape[0], source)

    def model_cards(self) -> dict[str, dict[str, str]]:
        return {
            "detector": {"name": "fake-detector", "version": "1"},
            "classifier": {"name": "fake-classifier", "version": "2"},
        }


class NucleusPipeline:
    """analyze(frame) -> the white cells of a simulated smear, found by the colour of
    their nuclei (dark violet); boxes around them, clipped to the frame. For the
    simulated microscope, whose fields really differ as its stage moves."""

    def __init__(self) -> None:
        self.calls = 0

    def analyze(self, frame: Frame, *, source: str = "") -> Field:
        self.calls += 1
        b, g = frame[..., 0].astype(np.int16), frame[..., 1].astype(np.int16)
        mask = ((g < 110) & (b > g + 30)).astype(np.uint8)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        h, w = frame.shape[:2]
        cells = []
        for x, y, bw, bh, area in stats[1:n]:
            if area < 1000:
                continue
            box = Box(
                max(0, x - 14), max(0, y - 14), min(w - 1, x + bw + 14), min(h - 1, y + bh + 14)
            )
            cells.append(Cell.create(box, CellKind.WBC, auto_class="lymphocyte", probability=0.9))
        return Field.create(cells, w, h, source)
