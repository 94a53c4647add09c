"""A simulated microscope: live views drifting across a large smear image, with focus changes.

The default source when no camera is present, and the one every GUI test uses (like
pymmcore-plus's demo configuration). Without an image it pans across a synthetic stained
smear (`smear_synth`, tileable: the view wraps round); with a user image (a path or an
array) the view bounces between its edges.

Frame ``n`` shows simulated time ``n / fps``: the same seed gives the same frames, however
fast they are read. Each frame is a crop of the big image (a copy), blurred while the
focus drifts off (a Gaussian blur, mostly sharp), times a fixed vignette with a few dust
specks on the sensor, plus a little sensor noise: at 640 x 480 about 0.4 ms in focus and
1.5 ms (at most ~6 ms) while defocused, on a busy 2-core machine.

The stage moves with :meth:`SimulatedMicroscope.move_stage` (the station's arrow keys),
as a technician moves the slide between fields; :meth:`SimulatedMicroscope.jump` goes to
another area.

Losing the device is simulated with :meth:`SimulatedMicroscope.disconnect` (now) or
:meth:`SimulatedMicroscope.fail_after` (after n more frames): ``read`` then raises
`SourceLost` until ``open`` is called again, which may be made to fail a few times first
(``failed_reopens``: the cable is still out).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from hemoscope.capture import sim_optics as optics
from hemoscope.capture.image_files import ImageReadError, read_image
from hemoscope.capture.pacing import Pacer
from hemoscope.capture.smear_cache import cached_smear
from hemoscope.capture.smear_layout import SmearCell, smear_layout
from hemoscope.capture.smear_synth import DEFAULT_CANVAS
from hemoscope.capture.source import Frame, SourceError, SourceInfo, SourceLost

log = logging.getLogger(__name__)


class SimulatedMicroscope:
    """A `FrameSource` that serves realistic smear fields at a steady rate."""

    def __init__(
        self,
        image: str | os.PathLike[str] | Frame | None = None,
        *,
        fps: float = 30.0,
        size: tuple[int, int] = (640, 480),
        seed: int = 0,
        drift: float = 20.0,
        focus_cycle: float = 25.0,
        focus_blur: float = 3.0,
        noise: float = 2.0,
        vignette: float = 0.15,
        canvas: tuple[int, int] = DEFAULT_CANVAS,
        rbc_diameter: float = 80.0,
        fail_after: int | None = None,
        cache_dir: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`size` is (width, height) of the served frames and `canvas` of the synthetic
        smear; `drift` is the typical stage speed in pixels per second (0: still);
        `focus_cycle` the seconds between two slow defocus episodes (0: always sharp),
        whose blur peaks at `focus_blur` (Gaussian sigma, pixels); `noise` is the sensor
        noise (standard deviation, grey levels) and `vignette` the darkening at the corners
        (with 0, no vignette and no dust specks either: a clean optical path).
        `cache_dir`: where the synthetic smear is kept between runs (`smear_cache`).
        """
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        if min(size) < 16:
            raise ValueError(f"frame size {size} is too small")
        if image is None and (canvas[0] < size[0] or canvas[1] < size[1]):
            raise ValueError(f"canvas {canvas} is smaller than the frame size {size}")
        self._source_image = image
        self._size = size
        self._seed = seed
        self._drift, self._focus_cycle, self._focus_blur = drift, focus_cycle, focus_blur
        self._noise_sigma, self._vignette_depth = noise, vignette
        self._optics_ready = False  # vignette and noise are made at the first open
        self._vignette: Frame | None = None
        self._noise: optics.I8 | None = None
        self._canvas_size, self._rbc_diameter = canvas, rbc_diameter
        self._cache_dir = cache_dir
        self._pacer = Pacer(fps, clock=clock, sleep=sleep)
        self._lock = threading.Lock()
        self._image: Frame | None = None
        self._wrap = image is None
        self._open = False
        self._lost = False
        self._fail_in = fail_after
        self._failed_reopens = 0
        self._index = 0
        rng = np.random.default_rng([seed, 1])
        self._jump_rng = np.random.default_rng([seed, 2])
        heading = rng.uniform(0, 2 * math.pi)
        self._velocity = (0.8 * drift * math.cos(heading), 0.8 * drift * math.sin(heading))
        self._phases = tuple(rng.uniform(0, 2 * math.pi, 3))
        self._offset = (rng.uniform(0, canvas[0]), rng.uniform(0, canvas[1]))
        name = "Simulated microscope"
        if isinstance(image, str | os.PathLike):
            name += f" ({Path(image).name})"
        self._info = SourceInfo("simulated", name, size[0], size[1], fps)

    @property
    def info(self) -> SourceInfo:
        return self._info

    @property
    def frames_served(self) -> int:
        """The index of the next frame `read` will return."""
        return self._index

    def open(self) -> SourceInfo:
        with self._lock:
            if self._failed_reopens > 0:
                self._failed_reopens -= 1
                raise SourceError("The simulated microscope is not connected (simulated unplug).")
        if self._image is None:
            self._image = self._load()
        if not self._optics_ready:
            optics_rng = np.random.default_rng([self._seed, 3])
            self._vignette = optics.vignette(self._size, self._vignette_depth, optics_rng)
            self._noise = optics.noise_bank(self._size, self._noise_sigma, optics_rng)
            self._optics_ready = True
        with self._lock:
            self._open, self._lost = True, False
            self._pacer.reset()
        log.info("%s open: %d x %d at %g fps", self._info.name, *self._size, self._info.fps)
        return self._info

    def read(self) -> Frame:
        with self._lock:
            if not self._open:
                raise SourceError("The simulated microscope is not open.")
            if self._fail_in is not None:
                if self._fail_in <= 0:
                    self._fail_in, self._lost = None, True
                else:
                    self._fail_in -= 1
            if self._lost:
                self._open = False
                raise SourceLost(
                    "The simulated microscope was disconnected (simulated unplug). "
                    "Reconnect to go on; the case is kept."
                )
            index = self._index
            self._index += 1
        self._pacer.wait()
        return self.frame_at(index)

    def close(self) -> None:
        with self._lock:
            self._open = False

    def frame_at(self, index: int) -> Frame:
        """Frame number `index` (simulated time ``index / fps``), without pacing."""
        image, gain = self._image, self._vignette
        if image is None or not self._optics_ready:
            raise SourceError("The simulated microscope is not open.")
        x, y = self.position(index)
        width, height = self._size
        frame = optics.crop(image, x, y, width, height, self._wrap)
        sigma = self.focus_sigma(index)
        if sigma > 0:
            frame = np.asarray(cv2.GaussianBlur(frame, (0, 0), sigma), dtype=np.uint8)
        if gain is not None:
            frame = np.asarray(cv2.multiply(frame, gain, scale=1 / 255), dtype=np.uint8)
        if self._noise is not None:
            bank = self._noise[index % optics.NOISE_BANK]
            ox, oy = (index * 7) % optics.NOISE_MARGIN, (index * 11) % optics.NOISE_MARGIN
            noise = bank[oy : oy + height, ox : ox + width]
            frame = np.asarray(cv2.add(frame, noise, dtype=cv2.CV_8U), dtype=np.uint8)
        return frame

    def position(self, index: int | None = None) -> tuple[int, int]:
        """Top-left corner of the view in the big image for frame `index` (default: next)."""
        raw_x, raw_y = self._raw_position(self._index if index is None else index)
        width, height = self._canvas_dimensions()
        if self._wrap:
            return int(raw_x % width), int(raw_y % height)
        return optics.fold(raw_x, width - self._size[0]), optics.fold(raw_y, height - self._size[1])

    def visible_cells(self, index: int | None = None) -> list[SmearCell]:
        """The synthetic cells whose centres lie in frame `index` (default: the next one),
        in that frame's pixel coordinates: the ground truth of a simulated field. Empty
        for a user image, whose content is unknown."""
        if not self._wrap:
            return []
        x, y = self.position(index)
        width, height = self._canvas_size
        cells = smear_layout(width, height, self._seed, self._rbc_diameter)
        seen = []
        for cell in cells:
            dx, dy = (cell.x - x) % width, (cell.y - y) % height
            if dx < self._size[0] and dy < self._size[1]:
                seen.append(SmearCell(cell.kind, dx, dy, cell.radius))
        return seen

    def focus_sigma(self, index: int) -> float:
        """Blur (Gaussian sigma, pixels) of frame `index`: 0 for most of each focus cycle."""
        if self._focus_cycle <= 0 or self._focus_blur <= 0:
            return 0.0
        t = index / self._info.fps + self._phases[2] / (2 * math.pi) * self._focus_cycle
        phase = (t % self._focus_cycle) / self._focus_cycle
        if phase < 0.8:
            return 0.0
        sigma = self._focus_blur * math.sin(math.pi * (phase - 0.8) / 0.2) ** 2
        sigma = round(sigma * 4) / 4  # a few distinct kernels
        return sigma if sigma >= 0.5 else 0.0

    def jump(self, to: tuple[int, int] | None = None) -> None:
        """Move the stage to a new area: a random one (from the seed), or the view at `to`."""
        with self._lock:
            raw_x, raw_y = self._raw_position(self._index)
            if to is None:
                width, height = self._canvas_dimensions()
                dx, dy = self._jump_rng.uniform(0.25, 0.75, 2) * (width, height)
            else:
                dx, dy = to[0] - raw_x, to[1] - raw_y
            self._offset = (self._offset[0] + dx, self._offset[1] + dy)

    def move_stage(self, dx: float, dy: float) -> None:
        """Move the stage: the view shifts by (dx, dy) frame pixels (right and down
        positive) at once, then drifts on from there (see `MovableStage`)."""
        with self._lock:
            self._offset = (self._offset[0] + dx, self._offset[1] + dy)

    def fail_after(self, frames: int, *, failed_reopens: int = 0) -> None:
        """Serve `frames` more frames, then lose the device (see `disconnect`)."""
        with self._lock:
            self._fail_in = max(0, frames)
            self._failed_reopens = max(0, failed_reopens)

    def disconnect(self, *, failed_reopens: int = 0) -> None:
        """Lose the device now: the next `read` raises `SourceLost`, and the next
        `failed_reopens` calls of `open` raise `SourceError` before one succeeds."""
        self.fail_after(0, failed_reopens=failed_reopens)

    def _raw_position(self, index: int) -> tuple[float, float]:
        t = index / self._info.fps
        wiggle = self._drift * 3.0  # amplitude of the slow sideways wander, pixels
        x = self._offset[0] + self._velocity[0] * t + wiggle * math.sin(t / 37 + self._phases[0])
        y = self._offset[1] + self._velocity[1] * t + wiggle * math.sin(t / 53 + self._phases[1])
        return x, y

    def _canvas_dimensions(self) -> tuple[int, int]:
        if self._image is not None:
            return self._image.shape[1], self._image.shape[0]
        return self._canvas_size

    def _load(self) -> Frame:
        image = self._source_image
        if image is None:
            width, height = self._canvas_size
            return cached_smear(width, height, self._seed, self._rbc_diameter, self._cache_dir)
        if isinstance(image, str | os.PathLike):
            try:
                image = read_image(image)
            except ImageReadError as error:
                raise SourceError(
                    f"Cannot use {error.path.name} for the simulator: {error.reason}"
                ) from error
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise SourceError(f"The simulator needs an 8-bit BGR image, not {image.shape}.")
        return optics.cover(image, self._size)
