"""Field images, stored once each as lossless PNG files named by their content hash.

The hash is the SHA-256 of the pixels with their shape (``"HxWxC:"`` + raw bytes), so
the same picture always gets the same name whatever the PNG encoder does. Files live
in ``<root>/<first two hex digits>/<sha256>.png``; they are written to a temporary file,
flushed to disk and renamed, so a file with a hash name is always complete. Writing an
image touches no database: it may run on a worker thread.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from .errors import ImageStoreError

__all__ = ["ImageRef", "ImageStore", "MemoryImageStore", "image_sha256"]

logger = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A stored image: its hash, size in pixels, channels and PNG file size."""

    sha256: str
    width: int
    height: int
    channels: int
    size_bytes: int


def _check(image: Image) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise TypeError("a field image must be a uint8 numpy array")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise ValueError(f"a field image must be HxW or HxWx(1|3|4), got {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError("a field image cannot be empty")


def image_sha256(image: Image) -> str:
    """The content hash of an image (shape and pixels)."""
    _check(image)
    channels = 1 if image.ndim == 2 else image.shape[2]
    h = hashlib.sha256(f"{image.shape[0]}x{image.shape[1]}x{channels}:".encode())
    h.update(np.ascontiguousarray(image).data)
    return h.hexdigest()


class ImageStore:
    """A directory of content-addressed PNG images (created with mode 0700)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / f"{sha256}.png"

    def put(self, image: Image) -> ImageRef:
        """Store ``image`` (BGR, as OpenCV gives it) unless already there.

        Raises:
            ImageStoreError: the file cannot be written (disk full, read-only, ...).
        """
        sha = image_sha256(image)
        path = self.path_for(sha)
        h, w = image.shape[:2]
        channels = 1 if image.ndim == 2 else image.shape[2]
        if path.is_file():
            return ImageRef(sha, w, h, channels, path.stat().st_size)
        ok, encoded = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            raise ImageStoreError(f"the field image ({w}x{h}) could not be encoded as PNG")
        data = encoded.tobytes()
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.parent.mkdir(mode=0o700, exist_ok=True)
            _write_durably(path, data)
        except OSError as exc:
            raise ImageStoreError(
                f"the field image could not be saved in {self.root}: {exc.strerror or exc}. "
                "Free disk space or check the folder's permissions; the case is unchanged."
            ) from exc
        logger.debug("stored image %s (%d bytes)", sha[:12], len(data))
        return ImageRef(sha, w, h, channels, len(data))

    def get(self, sha256: str) -> Image:
        """The pixels of a stored image, checked against their hash.

        Raises:
            ImageStoreError: the file is missing or does not match its hash.
        """
        path = self.path_for(sha256)
        try:
            data = np.fromfile(path, dtype=np.uint8)
        except OSError as exc:
            raise ImageStoreError(f"field image {sha256[:12]} is missing ({path})") from exc
        decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        if decoded is None or decoded.dtype != np.uint8:
            raise ImageStoreError(f"field image {path} is damaged (it cannot be decoded)")
        image: Image = np.asarray(decoded, dtype=np.uint8)
        if image_sha256(image) != sha256:
            raise ImageStoreError(
                f"field image {path} is damaged (its content does not match its name)"
            )
        return image

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def remove_unreferenced(self, referenced: set[str], *, older_than_s: float) -> list[Path]:
        """Delete image files (and interrupted temporary files) that no database row names
        and that are older than ``older_than_s`` (a write in progress elsewhere is never
        that old); the files removed."""
        if not self.root.is_dir():
            return []
        cutoff = time.time() - older_than_s
        removed: list[Path] = []
        for path in self.root.glob("??/*.png"):
            name = path.stem
            orphan = name.startswith(".tmp-") or name not in referenced
            try:
                if orphan and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed.append(path)
            except OSError as exc:  # gone already, or not ours to remove: leave it
                logger.debug("cannot remove %s: %s", path, exc)
        return removed


class MemoryImageStore(ImageStore):
    """Field images kept in memory (a case store that writes nothing to disk)."""

    def __init__(self) -> None:
        super().__init__(Path("(memory)"))
        self._images: dict[str, Image] = {}

    def put(self, image: Image) -> ImageRef:
        sha = image_sha256(image)
        self._images.setdefault(sha, image.copy())
        channels = 1 if image.ndim == 2 else image.shape[2]
        return ImageRef(sha, image.shape[1], image.shape[0], channels, image.nbytes)

    def get(self, sha256: str) -> Image:
        image = self._images.get(sha256)
        if image is None:
            raise ImageStoreError(f"field image {sha256[:12]} is not in memory")
        return image

    def has(self, sha256: str) -> bool:
        return sha256 in self._images

    def remove_unreferenced(self, referenced: set[str], *, older_than_s: float) -> list[Path]:
        return []  # nothing outlives the process


def _write_durably(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, rename, fsync the folder."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
