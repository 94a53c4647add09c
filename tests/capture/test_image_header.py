"""probe_header: sizes and orientation from the first bytes of a file."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from image_factory import (
    bigtiff_header,
    jpeg_claiming,
    jpeg_with_orientation,
    png_header_claiming,
    png_with_orientation,
    rgb_tiff,
    webp_with_orientation,
)

from hemoscope.capture.image_header import probe_header

IMAGE = np.zeros((21, 34, 3), np.uint8)


@pytest.mark.parametrize(
    ("ext", "fmt", "params"),
    [
        (".png", "PNG", []),
        (".jpg", "JPEG", []),
        (".jpg", "JPEG", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
        (".tif", "TIFF", []),
        (".bmp", "BMP", []),
        (".webp", "WEBP", []),
        (".webp", "WEBP", [cv2.IMWRITE_WEBP_QUALITY, 101]),
        (".gif", "GIF", []),
    ],
)
def test_sizes_of_opencv_files(ext: str, fmt: str, params: list[int]) -> None:
    ok, encoded = cv2.imencode(ext, IMAGE, params)
    assert ok
    header = probe_header(encoded.tobytes())
    assert header is not None
    assert (header.format, header.width, header.height, header.orientation) == (fmt, 34, 21, 1)
    assert header.pixels == 34 * 21


def test_webp_with_alpha_uses_extended_header() -> None:
    _, encoded = cv2.imencode(".webp", np.zeros((21, 34, 4), np.uint8))
    header = probe_header(encoded.tobytes())
    assert header is not None and (header.width, header.height) == (34, 21)


def test_jpeg_scan_offset_points_at_sos() -> None:
    _, encoded = cv2.imencode(".jpg", IMAGE)
    data = encoded.tobytes()
    header = probe_header(data)
    assert header is not None and header.scan_offset is not None
    assert data[header.scan_offset : header.scan_offset + 2] == b"\xff\xda"


@pytest.mark.parametrize(
    "make", [jpeg_with_orientation, png_with_orientation, webp_with_orientation, rgb_tiff]
)
def test_orientation(make) -> None:  # type: ignore[no-untyped-def]
    header = probe_header(make(IMAGE, 6))
    assert header is not None and header.orientation == 6
    assert (header.width, header.height) == (34, 21)  # as stored


def test_claimed_sizes() -> None:
    png = probe_header(png_header_claiming(30000, 30000))
    assert png is not None and png.pixels == 900_000_000
    jpeg = probe_header(jpeg_claiming(20000, 12000))
    assert jpeg is not None and (jpeg.width, jpeg.height) == (20000, 12000)
    big = probe_header(bigtiff_header(70000, 50000))
    assert big is not None
    assert (big.format, big.width, big.height, big.orientation) == ("TIFF", 70000, 50000, 8)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello",
        b"\x89PNG\r\n\x1a\n\x00\x00",  # cut inside IHDR
        b"\xff\xd8\xff\xe0\x00",  # cut inside a JPEG segment
        b"\xff\xd8\xff\xda\x00\x08" + b"\x00" * 8,  # scan before any frame header
        b"II*\x00\xff\xff\xff\x00",  # IFD offset beyond the end
        b"RIFF\x00\x00\x00\x00WEBPVP8 ",
        b"%PDF-1.7\n",
    ],
)
def test_unknown_or_broken_headers_give_none(data: bytes) -> None:
    assert probe_header(data) is None


def test_bad_orientation_value_is_ignored() -> None:
    header = probe_header(jpeg_with_orientation(IMAGE, 42))
    assert header is not None and header.orientation == 1
