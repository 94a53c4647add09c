"""Still images from files and folders, stepped through one microscope field at a time.

The list is made once, at ``open``, with `list_images` (folders expand to their image
files in natural order); each image is decoded with `read_image` when it becomes the
current one. A file that cannot be read is skipped with a logged reason, remembered in
`ImageFolderSource.failures`, and not tried again until the next ``open``.

Pacing stills (fps 0)
  ``read`` returns the current image; the very same (read-only) array object until the
  field changes. It returns at once the first time after ``open`` or a step (`next`,
  `previous`, `seek`, from any thread), and otherwise waits up to `poll_interval` seconds
  for a step before returning the same array again. So a capture thread that calls
  ``read`` in a loop neither spins nor lags behind a step, and it can tell "nothing new"
  by identity (``frame is previous``): `CaptureThread` does, and does not count the
  repeated frame as a new one, so inference does not run twice on one still.
  The array is read-only because several consumers share it: copy before drawing on it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from hemoscope.capture.image_files import (
    DEFAULT_MAX_PIXELS,
    ImageReadError,
    list_images,
    read_image,
)
from hemoscope.capture.source import Frame, SourceError, SourceInfo

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


class ImageFolderSource:
    """A `FrameSource` over image files and folders (fps 0: still fields)."""

    def __init__(
        self,
        paths: PathLike | Iterable[PathLike],
        *,
        loop: bool = False,
        recursive: bool = False,
        poll_interval: float = 0.1,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        self._given = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
        self.loop = loop
        self.recursive = recursive
        self.poll_interval = poll_interval
        self.max_pixels = max_pixels
        self._paths: list[Path] = []
        self._bad: set[int] = set()
        self._failures: list[ImageReadError] = []
        self._index = -1
        self._image: Frame | None = None
        self._fresh = False
        self._open = False
        self._changed = threading.Condition()
        self._info = SourceInfo("files", self._describe(), 0, 0, 0.0)

    @property
    def info(self) -> SourceInfo:
        return self._info

    @property
    def paths(self) -> list[Path]:
        """The files found at ``open``, readable or not."""
        return list(self._paths)

    @property
    def index(self) -> int:
        """Position of the current image in `paths` (-1 before ``open``)."""
        return self._index

    @property
    def current_path(self) -> Path | None:
        return self._paths[self._index] if self._index >= 0 else None

    @property
    def failures(self) -> list[ImageReadError]:
        """The files skipped because they could not be read (``path`` and ``reason``)."""
        with self._changed:
            return list(self._failures)

    def open(self) -> SourceInfo:
        paths = list_images(self._given, recursive=self.recursive)
        with self._changed:
            self._paths, self._bad, self._failures = paths, set(), []
            self._index, self._image = -1, None
        if not paths:
            raise SourceError(f"No image files in {self._describe()}.")
        if not self._step_to(0, +1, wrap=False):
            failures = self.failures
            raise SourceError(
                f"None of the {len(paths)} image files could be read "
                f"({failures[0].path.name}: {failures[0].reason})."
            )
        with self._changed:
            self._open = True
        return self._info

    def read(self) -> Frame:
        with self._changed:
            if not self._fresh and self._open:
                self._changed.wait(self.poll_interval)
            if not self._open or self._image is None:
                raise SourceError(f"The image files ({self._describe()}) are not open.")
            self._fresh = False
            return self._image

    def close(self) -> None:
        with self._changed:
            self._open = False
            self._changed.notify_all()

    def next(self) -> bool:
        """Show the next readable image; False (and no change) at the end unless `loop`."""
        return self._step_to(self._index + 1, +1, wrap=self.loop)

    def previous(self) -> bool:
        """Show the previous readable image; False at the start unless `loop`."""
        return self._step_to(self._index - 1, -1, wrap=self.loop)

    def seek(self, index: int) -> bool:
        """Show image `index` of `paths` or, if it cannot be read, the next readable one."""
        if not 0 <= index < len(self._paths):
            raise IndexError(f"image {index} of {len(self._paths)}")
        return self._step_to(index, +1, wrap=self.loop)

    def _step_to(self, start: int, direction: int, *, wrap: bool) -> bool:
        """Make the first readable image from `start` on (in `direction`) the current one."""
        count = len(self._paths)
        position = start
        for _ in range(count):
            if wrap:
                position %= count
            elif not 0 <= position < count:
                return False
            if position == self._index:
                return False
            if position not in self._bad:
                image = self._load(position)
                if image is not None:
                    self._show(position, image)
                    return True
            position += direction
        return False

    def _load(self, position: int) -> Frame | None:
        path = self._paths[position]
        try:
            image = read_image(path, max_pixels=self.max_pixels)
        except ImageReadError as error:
            log.warning("skipping %s: %s", path, error.reason)
            with self._changed:
                self._bad.add(position)
                self._failures.append(error)
            return None
        image.flags.writeable = False
        return image

    def _show(self, position: int, image: Frame) -> None:
        with self._changed:
            self._index, self._image, self._fresh = position, image, True
            height, width = image.shape[:2]
            self._info = SourceInfo("files", self._describe(), width, height, 0.0)
            self._changed.notify_all()
        log.debug("image %d of %d: %s", position + 1, len(self._paths), self._paths[position])

    def _describe(self) -> str:
        if len(self._given) == 1:
            path = Path(self._given[0])
            return f"{path.name}/" if path.is_dir() else path.name
        return f"{len(self._given)} files and folders"
