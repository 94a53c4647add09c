"""The images opened in this session, and which one is shown. No Qt here.

`ImageSession` keeps an ordered list of `ImageEntry` (path and size) and the index of
the current one. Decoded pixels are kept in a least-recently-used cache bounded by a
byte budget, so opening a folder of 500 fields does not hold 500 decoded images; an
entry whose pixels were dropped is read again when it is shown.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["DEFAULT_CACHE_BYTES", "ImageEntry", "ImageSession"]

DEFAULT_CACHE_BYTES = 768 * 1024 * 1024

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class ImageEntry:
    """An opened image: where it came from and its size in pixels (upright)."""

    path: Path
    width: int
    height: int

    @property
    def name(self) -> str:
        return self.path.name or str(self.path)


class ImageSession:
    """Opened images in the order they were opened, a current one, and a pixel cache."""

    def __init__(self, *, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self._entries: list[ImageEntry] = []
        self._index_of: dict[str, int] = {}
        self._current: int | None = None
        self._cache: OrderedDict[str, Image] = OrderedDict()
        self._cache_bytes = cache_bytes

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def entries(self) -> tuple[ImageEntry, ...]:
        return tuple(self._entries)

    @property
    def current_index(self) -> int | None:
        return self._current

    @property
    def current(self) -> ImageEntry | None:
        return None if self._current is None else self._entries[self._current]

    def add(self, path: Path, image: Image) -> tuple[int, bool]:
        """Add (or refresh) the image read from `path`; return (index, whether it is new)."""
        key = _key(path)
        entry = ImageEntry(path, int(image.shape[1]), int(image.shape[0]))
        index = self._index_of.get(key)
        is_new = index is None
        if index is None:
            index = len(self._entries)
            self._entries.append(entry)
            self._index_of[key] = index
        else:
            self._entries[index] = entry
        self._remember(key, image)
        return index, is_new

    def index_of(self, path: Path) -> int | None:
        return self._index_of.get(_key(path))

    def select(self, index: int) -> ImageEntry:
        """Make entry `index` the current one."""
        if not 0 <= index < len(self._entries):
            raise IndexError(f"no image {index} (there are {len(self._entries)})")
        self._current = index
        return self._entries[index]

    def step(self, delta: int) -> int | None:
        """The index `delta` places from the current one, kept in range; None if empty."""
        if not self._entries:
            return None
        start = 0 if self._current is None else self._current
        return min(max(start + delta, 0), len(self._entries) - 1)

    def pixels(self, index: int) -> Image | None:
        """The cached pixels of entry `index`, or None if they must be read again."""
        key = _key(self._entries[index].path)
        image = self._cache.get(key)
        if image is not None:
            self._cache.move_to_end(key)
        return image

    def cached_bytes(self) -> int:
        return sum(image.nbytes for image in self._cache.values())

    def _remember(self, key: str, image: Image) -> None:
        self._cache[key] = image
        self._cache.move_to_end(key)
        total = self.cached_bytes()
        # Keep at least the newest image, whatever its size.
        while total > self._cache_bytes and len(self._cache) > 1:
            _, dropped = self._cache.popitem(last=False)
            total -= dropped.nbytes


def _key(path: Path) -> str:
    return os.path.normcase(os.path.abspath(path))
