"""Build test images in memory: EXIF-tagged JPEG/PNG and hand-made TIFF files."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import numpy.typing as npt


def exif_block(orientation: int) -> bytes:
    """A big-endian EXIF TIFF structure holding only the Orientation tag."""
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
    return b"MM\x00\x2a" + struct.pack(">IH", 8, 1) + entry + struct.pack(">I", 0)


def jpeg_with_orientation(image: npt.NDArray[np.uint8], orientation: int) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    payload = b"Exif\x00\x00" + exif_block(orientation)
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    data = encoded.tobytes()
    return data[:2] + app1 + data[2:]


def png_with_orientation(image: npt.NDArray[np.uint8], orientation: int) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    data = encoded.tobytes()
    body = exif_block(orientation)
    chunk = struct.pack(">I", len(body)) + b"eXIf" + body
    chunk += struct.pack(">I", zlib.crc32(b"eXIf" + body) & 0xFFFFFFFF)
    ihdr_end = 8 + 25  # signature + IHDR chunk
    return data[:ihdr_end] + chunk + data[ihdr_end:]


def rgb_tiff(image_bgr: npt.NDArray[np.uint8], orientation: int = 1) -> bytes:
    """An uncompressed little-endian RGB TIFF with an Orientation tag."""
    height, width = image_bgr.shape[:2]
    pixels = np.ascontiguousarray(image_bgr[:, :, ::-1]).tobytes()
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 3, 0),  # BitsPerSample: offset patched below
        (259, 3, 1, 1),
        (262, 3, 1, 2),
        (273, 4, 1, 0),  # StripOffsets: patched below
        (274, 3, 1, orientation),
        (277, 3, 1, 3),
        (278, 4, 1, height),
        (279, 4, 1, len(pixels)),
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    bits_offset = 8 + ifd_size
    strip_offset = bits_offset + 6
    out = bytearray(b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries)))
    for tag, kind, count, value in entries:
        if tag == 258:
            value = bits_offset
        elif tag == 273:
            value = strip_offset
        if kind == 3 and count == 1:
            out += struct.pack("<HHIHH", tag, kind, count, value, 0)
        else:
            out += struct.pack("<HHII", tag, kind, count, value)
    out += struct.pack("<I", 0) + struct.pack("<HHH", 8, 8, 8) + pixels
    return bytes(out)


def webp_with_orientation(image: npt.NDArray[np.uint8], orientation: int) -> bytes:
    """A lossless WebP in the extended (VP8X) container with an EXIF chunk."""
    ok, encoded = cv2.imencode(".webp", image, [cv2.IMWRITE_WEBP_QUALITY, 101])
    assert ok
    data = encoded.tobytes()
    bitstream = data[12:]  # the VP8L chunk, header and padding included
    height, width = image.shape[:2]
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes([0x08, 0, 0, 0])
    vp8x += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    exif = b"Exif\x00\x00" + exif_block(orientation)
    exif_chunk = b"EXIF" + struct.pack("<I", len(exif)) + exif + b"\x00" * (len(exif) & 1)
    body = b"WEBP" + vp8x + bitstream + exif_chunk
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def palette_png(
    indices: npt.NDArray[np.uint8],
    palette_rgb: list[tuple[int, int, int]],
    alpha: list[int] | None = None,
) -> bytes:
    """An 8-bit palette PNG (colour type 3), with a tRNS chunk when `alpha` is given."""
    height, width = indices.shape
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)
    rows = b"".join(b"\x00" + indices[y].tobytes() for y in range(height))
    out = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
    out += _png_chunk(b"PLTE", b"".join(bytes(c) for c in palette_rgb))
    if alpha is not None:
        out += _png_chunk(b"tRNS", bytes(alpha))
    out += _png_chunk(b"IDAT", zlib.compress(rows)) + _png_chunk(b"IEND", b"")
    return out


def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels (its data are bogus)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small valid JPEG whose start-of-frame has been rewritten to `width` x `height`."""
    ok, encoded = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))
    assert ok
    data = bytearray(encoded.tobytes())
    sof = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def bigtiff_header(width: int, height: int) -> bytes:
    """The header and first IFD of a little-endian BigTIFF (no pixel data)."""
    entries = [(256, 16, 1, width), (257, 16, 1, height), (274, 3, 1, 8)]
    out = b"II+\x00" + struct.pack("<HHQ", 8, 0, 16) + struct.pack("<Q", len(entries))
    for tag, kind, count, value in entries:
        out += struct.pack("<HHQQ", tag, kind, count, value)
    return out + struct.pack("<Q", 0)
