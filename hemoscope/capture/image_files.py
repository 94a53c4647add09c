"""Read microscope images from files, and list the image files in folders.

`read_image` returns every image the same way: a C-contiguous ``uint8`` array of shape
``(H, W, 3)`` in OpenCV's BGR channel order, upright. Whatever goes wrong comes back as
one exception, `ImageReadError`, whose `reason` can be shown to a technician as it is.

How the file is read
  The bytes are read with Python's own file API and decoded with ``cv2.imdecode``
  (never ``cv2.imread``, which cannot open non-ASCII paths on Windows). The data are
  decoded with ``IMREAD_UNCHANGED`` so that bit depth and alpha survive. OpenCV skips the
  EXIF orientation in that mode for JPEG and PNG (and always for WebP), so it is applied
  here from the header; OpenCV's TIFF decoder applies the TIFF Orientation tag itself,
  so TIFF is left as decoded. (Verified with OpenCV 5.0 by tests/capture.)

Pixel limit
  Before decoding, the image size is read from the header (`image_header.probe_header`:
  PNG, JPEG, TIFF, BMP, WebP, GIF) and images over `max_pixels` are refused without
  decoding a single pixel. For other formats OpenCV's own limit (``CV_IO_MAX_IMAGE_PIXELS``,
  2**30 by default) guards the decoder and `max_pixels` is checked after decoding.

Conversion to 8-bit BGR
  - Unsigned and signed integers are scaled by the full range of their type: a 16-bit
    value v becomes round(v * 255 / 65535); negative values become 0. Scaling is fixed,
    not per image, so that colours stay comparable from field to field. (A 12-bit camera
    that stores 0..4095 in 16-bit words therefore gives a dark image.)
  - Floating point: NaN and infinities become 0, negatives 0; data whose maximum is at
    most 1.0 are taken as 0..1, otherwise they are scaled by the image's maximum.
  - Grayscale becomes three equal channels; palette images arrive expanded from OpenCV.
  - An alpha channel is composited over white (a slide's background is bright).
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from hemoscope.capture.image_header import ImageHeader, probe_header, sniff_format

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "ImageReadError",
    "is_image_file_name",
    "list_images",
    "read_image",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS = 100_000_000
"""Images with more pixels than this (100 megapixels) are refused."""
DEFAULT_MAX_BYTES = 1 << 30
"""Files larger than this (1 GiB) are refused before they are read."""
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp"})
"""File name extensions (lower case) that `list_images` picks up in folders."""

BGRImage = npt.NDArray[np.uint8]
PathLike = str | os.PathLike[str]


class ImageReadError(Exception):
    """An image file could not be read; `reason` says why in plain words."""

    def __init__(self, path: PathLike, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot read {self.path}: {reason}")

    def __reduce__(self) -> tuple[type[ImageReadError], tuple[Path, str]]:
        return (type(self), (self.path, self.reason))


def read_image(
    path: PathLike,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> BGRImage:
    """Read the image file at `path` as an upright ``(H, W, 3)`` uint8 BGR array.

    Raises `ImageReadError` if the file is missing, not a regular file, empty, larger
    than `max_bytes`, unreadable, not an image, corrupt or truncated, or if the image
    has more than `max_pixels` pixels. See the module documentation for the conversions.
    """
    path = Path(path)
    data = _read_bytes(path, max_bytes)
    header = probe_header(data)
    if header is not None:
        if header.width <= 0 or header.height <= 0:
            raise ImageReadError(path, f"corrupt {header.format} header (size 0)")
        _check_pixels(path, header.width, header.height, max_pixels)
    decoded = _decode(path, data, header)
    if header is None:
        _check_pixels(path, decoded.shape[1], decoded.shape[0], max_pixels)
    image = _to_bgr8(path, decoded)
    if header is not None and header.format != "TIFF" and header.orientation != 1:
        image = apply_exif_orientation(image, header.orientation)
    return np.ascontiguousarray(image)


def apply_exif_orientation(image: BGRImage, orientation: int) -> BGRImage:
    """Turn an image stored with EXIF `orientation` (1-8) upright, as OpenCV does."""
    if orientation in (5, 6, 7, 8):
        image = np.asarray(cv2.transpose(image), dtype=np.uint8)
    flip = {2: 1, 3: -1, 4: 0, 6: 1, 7: -1, 8: 0}.get(orientation)
    if flip is None:
        return image
    return np.asarray(cv2.flip(image, flip), dtype=np.uint8)


def is_image_file_name(path: PathLike) -> bool:
    """Whether the name ends with one of `IMAGE_EXTENSIONS`, in any letter case."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def list_images(paths: PathLike | Iterable[PathLike], *, recursive: bool = False) -> list[Path]:
    """Expand folders into the image files they hold; keep other paths as given.

    A folder contributes its files whose extension is in `IMAGE_EXTENSIONS` (any case),
    hidden files (name starting with a dot) excepted, sorted in natural order
    (``img2`` before ``img10``), including sub-folders' files when `recursive`. Any other
    path, even a missing file or one with another extension, is kept as given so that
    `read_image` can say what is wrong with it. Duplicates are dropped; order is kept.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    result: list[Path] = []
    seen: set[str] = set()
    for item in paths:
        path = Path(item)
        found = _images_in_folder(path, recursive) if path.is_dir() else [path]
        for file in found:
            key = os.path.normcase(os.path.abspath(file))
            if key not in seen:
                seen.add(key)
                result.append(file)
    return result


def _images_in_folder(folder: Path, recursive: bool) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(folder, onerror=_log_walk_error):
        dirs[:] = sorted((d for d in dirs if not d.startswith(".")), key=_natural_key)
        names = (f for f in files if not f.startswith(".") and is_image_file_name(f))
        found.extend(Path(root) / name for name in sorted(names, key=_natural_key))
        if not recursive:
            break
    return found


def _log_walk_error(error: OSError) -> None:
    log.warning("cannot list %s: %s", error.filename, error.strerror)


def _natural_key(name: str) -> list[tuple[int, int | str]]:
    parts = re.split(r"(\d+)", name.casefold())
    return [(0, int(p)) if p.isdigit() else (1, p) for p in parts if p]


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except PermissionError:
        raise ImageReadError(path, "permission denied") from None
    except OSError as error:
        raise ImageReadError(path, error.strerror or str(error)) from None
    if stat.S_ISDIR(info.st_mode):
        raise ImageReadError(path, "this is a folder, not an image file")
    if not stat.S_ISREG(info.st_mode):
        raise ImageReadError(path, "not a regular file")
    if info.st_size == 0:
        raise ImageReadError(path, "the file is empty (0 bytes)")
    if info.st_size > max_bytes:
        raise ImageReadError(
            path, f"the file is too large ({_mib(info.st_size)}; the limit is {_mib(max_bytes)})"
        )
    try:
        with path.open("rb") as file:
            return file.read(max_bytes + 1)
    except PermissionError:
        raise ImageReadError(path, "permission denied") from None
    except OSError as error:
        raise ImageReadError(path, error.strerror or str(error)) from None


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.0f} MiB"


def _check_pixels(path: Path, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageReadError(
            path,
            f"the image is too large ({width} × {height} pixels, "
            f"{width * height / 1e6:.0f} megapixels; the limit is "
            f"{max_pixels / 1e6:.0f} megapixels)",
        )


def _decode(path: Path, data: bytes, header: ImageHeader | None) -> npt.NDArray[np.generic]:
    try:
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as error:
        log.debug("cv2.imdecode failed on %s: %s", path, error)
        decoded = None
    if decoded is None or decoded.size == 0:
        fmt = header.format if header is not None else sniff_format(data)
        if fmt is None:
            raise ImageReadError(path, "not an image file, or a format that cannot be read")
        raise ImageReadError(path, f"the {fmt} data are corrupt or truncated")
    # Older OpenCV versions return a partly grey picture for a cut-off JPEG.
    if (
        header is not None
        and header.scan_offset is not None
        and (data.find(b"\xff\xd9", header.scan_offset) < 0)
    ):
        raise ImageReadError(path, "the JPEG data are truncated (no end-of-image marker)")
    return np.asarray(decoded)


def _to_bgr8(path: Path, image: npt.NDArray[np.generic]) -> BGRImage:
    if image.ndim == 2:
        image = image[:, :, np.newaxis]
    channels = image.shape[2] if image.ndim == 3 else 0
    if channels not in (1, 2, 3, 4):
        raise ImageReadError(path, f"unsupported image layout {image.shape}")
    color_channels = 1 if channels <= 2 else 3
    color = _to_uint8(image[:, :, :color_channels], alpha=False)
    if color_channels == 1:
        color = np.asarray(cv2.cvtColor(color, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    if channels in (2, 4):
        alpha = _to_uint8(image[:, :, color_channels], alpha=True)
        color = _over_white(color, alpha)
    return color


def _to_uint8(values: npt.NDArray[np.generic], *, alpha: bool) -> BGRImage:
    """Scale one or more channels of any depth to uint8 (see the module documentation)."""
    if values.ndim == 3 and values.shape[2] == 1:
        values = values[:, :, 0]
    if values.dtype == np.uint8:
        return np.ascontiguousarray(values)
    if np.issubdtype(values.dtype, np.integer):
        info = np.iinfo(values.dtype)  # type: ignore[type-var]
        if info.min < 0:
            values = np.maximum(values, 0)
        if values.dtype not in (np.uint16, np.int16, np.int32):
            values = values.astype(np.float64)
        return _convert(values, 255.0 / info.max)
    floats = np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    np.maximum(floats, 0.0, out=floats)
    peak = float(floats.max()) if floats.size else 0.0
    scale = 1.0 if alpha or peak <= 1.0 else peak
    return _convert(floats, 255.0 / scale)


def _convert(values: npt.NDArray[np.generic], factor: float) -> BGRImage:
    converted = cv2.convertScaleAbs(np.ascontiguousarray(values), alpha=factor)
    return np.asarray(converted, dtype=np.uint8)


def _over_white(color: BGRImage, alpha: BGRImage) -> BGRImage:
    """Composite `color` with coverage `alpha` (both uint8) over a white background."""
    a = alpha.astype(np.uint16)[:, :, np.newaxis]
    # c*a + 255*(255-a) <= 255*255, so uint16 holds every intermediate value.
    blended = color.astype(np.uint16) * a + 255 * (255 - a)
    return ((blended + 127) // 255).astype(np.uint8)
