"""Read an image's size and EXIF orientation from its header, without decoding pixels.

`read_image` uses this to refuse images over its pixel limit *before* handing the data to
OpenCV: a 30000 x 30000 PNG is only a few megabytes on disk but 2.7 GB once decoded.
Parsing the header ourselves is cheap (a few hundred bytes for most files) and does not
depend on the OpenCV version.

Formats understood: PNG, JPEG, TIFF (classic and BigTIFF), BMP, WebP and GIF. For any
other format `probe_header` returns None and the caller must rely on a check after
decoding. The EXIF orientation is read from JPEG APP1, PNG eXIf, WebP EXIF chunks and
the TIFF Orientation tag (1, "top-left", when absent).

Pure standard library: no OpenCV, no numpy, no Qt.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ImageHeader", "probe_header", "sniff_format"]

_ORIENTATION_TAG = 0x0112
_WIDTH_TAG = 256
_HEIGHT_TAG = 257
# JPEG start-of-frame markers: C0-CF except DHT (C4), JPG (C8) and DAC (CC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


@dataclass(frozen=True)
class ImageHeader:
    """What the header says about an image, before any pixel is decoded.

    `width` and `height` are as stored, before the EXIF orientation is applied.
    `scan_offset` is, for JPEG only, where the first scan (SOS marker) starts.
    """

    format: str
    width: int
    height: int
    orientation: int = 1
    scan_offset: int | None = None

    @property
    def pixels(self) -> int:
        return self.width * self.height


def probe_header(data: bytes | memoryview) -> ImageHeader | None:
    """Identify the format of `data` and read its size, or None if it is not understood.

    Returns None for unknown formats and for headers that are cut short or inconsistent;
    it never raises for malformed input.
    """
    fmt = sniff_format(data)
    if fmt is None:
        return None
    try:
        return _PARSERS[fmt](data)
    except (struct.error, IndexError, ValueError):
        return None


def sniff_format(data: bytes | memoryview) -> str | None:
    """The format named by the file's magic bytes ("PNG", "JPEG", ...), or None."""
    head = bytes(data[:16])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8"):
        return "JPEG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head.startswith(b"BM"):
        return "BMP"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    return None


def _png(data: bytes | memoryview) -> ImageHeader | None:
    if bytes(data[12:16]) != b"IHDR":
        return None
    width, height = struct.unpack_from(">II", data, 16)
    orientation = 1
    pos = 8
    # Walk the chunks before the image data, looking for an eXIf chunk.
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        if kind in (b"IDAT", b"IEND"):
            break
        if kind == b"eXIf":
            orientation = _exif_orientation(bytes(data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return ImageHeader("PNG", width, height, orientation)


def _jpeg(data: bytes | memoryview) -> ImageHeader | None:
    pos = 2
    size: tuple[int, int] | None = None
    orientation = 1
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        segment = pos + 4
        if marker == 0xDA:  # start of scan: the header is over
            if size is None:
                return None
            return ImageHeader("JPEG", size[0], size[1], orientation, scan_offset=pos)
        if marker in _SOF_MARKERS and size is None:
            height, width = struct.unpack_from(">HH", data, segment + 1)
            size = (width, height)
        elif marker == 0xE1 and bytes(data[segment : segment + 6]) == b"Exif\x00\x00":
            orientation = _exif_orientation(bytes(data[segment + 6 : pos + 2 + length]))
        pos += 2 + length
    return None


def _tiff_file(data: bytes | memoryview) -> ImageHeader | None:
    tags = _tiff_ifd0(data, (_WIDTH_TAG, _HEIGHT_TAG, _ORIENTATION_TAG))
    if tags is None or _WIDTH_TAG not in tags or _HEIGHT_TAG not in tags:
        return None
    orientation = tags.get(_ORIENTATION_TAG, 1)
    return ImageHeader("TIFF", tags[_WIDTH_TAG], tags[_HEIGHT_TAG], _valid(orientation))


def _bmp(data: bytes | memoryview) -> ImageHeader | None:
    (info_size,) = struct.unpack_from("<I", data, 14)
    if info_size == 12:  # OS/2 BITMAPCOREHEADER
        width, height = struct.unpack_from("<HH", data, 18)
    elif info_size >= 40:
        width, height = struct.unpack_from("<ii", data, 18)
    else:
        return None
    return ImageHeader("BMP", abs(width), abs(height))  # negative height: top-down rows


def _webp(data: bytes | memoryview) -> ImageHeader | None:
    pos = 12
    size: tuple[int, int] | None = None
    orientation = 1
    while pos + 8 <= len(data):
        kind, length = struct.unpack_from("<4sI", data, pos)
        body = pos + 8
        if kind == b"VP8X":
            w3, h3 = bytes(data[body + 4 : body + 7]), bytes(data[body + 7 : body + 10])
            size = (int.from_bytes(w3, "little") + 1, int.from_bytes(h3, "little") + 1)
        elif kind == b"VP8 " and size is None:
            if bytes(data[body + 3 : body + 6]) != b"\x9d\x01\x2a":
                return None
            w, h = struct.unpack_from("<HH", data, body + 6)
            size = (w & 0x3FFF, h & 0x3FFF)
        elif kind == b"VP8L" and size is None:
            if data[body] != 0x2F:
                return None
            (bits,) = struct.unpack_from("<I", data, body + 1)
            size = ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        elif kind == b"EXIF":
            payload = bytes(data[body : body + length])
            if payload.startswith(b"Exif\x00\x00"):
                payload = payload[6:]
            orientation = _exif_orientation(payload)
        pos = body + length + (length & 1)  # chunks are padded to even sizes
    if size is None:
        return None
    return ImageHeader("WEBP", size[0], size[1], orientation)


def _gif(data: bytes | memoryview) -> ImageHeader | None:
    width, height = struct.unpack_from("<HH", data, 6)
    return ImageHeader("GIF", width, height)


def _exif_orientation(tiff: bytes) -> int:
    """The Orientation tag of an EXIF block (a TIFF structure); 1 when absent or bad."""
    try:
        tags = _tiff_ifd0(tiff, (_ORIENTATION_TAG,))
    except (struct.error, IndexError, ValueError):
        return 1
    return _valid(tags.get(_ORIENTATION_TAG, 1) if tags else 1)


def _valid(orientation: int) -> int:
    return orientation if 1 <= orientation <= 8 else 1


def _tiff_ifd0(data: bytes | memoryview, wanted: tuple[int, ...]) -> dict[int, int] | None:
    """Integer values of the `wanted` tags in the first IFD of a TIFF structure."""
    order = bytes(data[:2])
    if order == b"II":
        e = "<"
    elif order == b"MM":
        e = ">"
    else:
        return None
    (version,) = struct.unpack_from(e + "H", data, 2)
    if version == 42:
        (ifd,) = struct.unpack_from(e + "I", data, 4)
        (count,) = struct.unpack_from(e + "H", data, ifd)
        first, entry_size, count_fmt, value_at = ifd + 2, 12, "I", 8
    elif version == 43:  # BigTIFF: 8-byte offsets and counts
        (ifd,) = struct.unpack_from(e + "Q", data, 8)
        (count,) = struct.unpack_from(e + "Q", data, ifd)
        first, entry_size, count_fmt, value_at = ifd + 8, 20, "Q", 12
    else:
        return None
    formats = {1: "B", 3: "H", 4: "I", 16: "Q"}  # BYTE, SHORT, LONG, LONG8
    found: dict[int, int] = {}
    for i in range(min(count, 4096)):
        entry = first + i * entry_size
        tag, kind = struct.unpack_from(e + "HH", data, entry)
        (n,) = struct.unpack_from(e + count_fmt, data, entry + 4)
        if tag in wanted and kind in formats and n >= 1:
            # A single value of these types always fits in the entry itself.
            (found[tag],) = struct.unpack_from(e + formats[kind], data, entry + value_at)
    return found


_PARSERS: dict[str, Callable[[bytes | memoryview], ImageHeader | None]] = {
    "PNG": _png,
    "JPEG": _jpeg,
    "TIFF": _tiff_file,
    "BMP": _bmp,
    "WEBP": _webp,
    "GIF": _gif,
}
