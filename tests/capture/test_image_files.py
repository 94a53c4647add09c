"""read_image: every kind of file a technician may open, good and bad."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from image_factory import (
    jpeg_claiming,
    jpeg_with_orientation,
    palette_png,
    png_header_claiming,
    png_with_orientation,
    rgb_tiff,
    webp_with_orientation,
)

from hemoscope.capture import image_files
from hemoscope.capture.image_files import ImageReadError, read_image


@pytest.fixture
def smear() -> np.ndarray:
    """A 30 x 50 BGR test card: red left band, blue top band, noise elsewhere."""
    rng = np.random.default_rng(7)
    image = rng.integers(60, 200, (30, 50, 3), dtype=np.uint8)
    image[:, :10] = (0, 0, 255)
    image[:6, :] = (255, 0, 0)
    return image


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def reason_for(path: Path, **kwargs: int) -> str:
    with pytest.raises(ImageReadError) as caught:
        read_image(path, **kwargs)
    assert caught.value.path == path
    assert str(path) in str(caught.value)
    return caught.value.reason


@pytest.mark.parametrize("ext", [".png", ".bmp", ".tif", ".webp"])
def test_lossless_formats_round_trip(tmp_path: Path, smear: np.ndarray, ext: str) -> None:
    path = tmp_path / f"field{ext}"
    params = [cv2.IMWRITE_WEBP_QUALITY, 101] if ext == ".webp" else []
    assert cv2.imwrite(str(path), smear, params)
    image = read_image(path)
    assert image.dtype == np.uint8
    assert image.flags.c_contiguous
    np.testing.assert_array_equal(image, smear)


def test_jpeg_is_read_as_bgr(tmp_path: Path, smear: np.ndarray) -> None:
    path = tmp_path / "field.JPG"
    assert cv2.imwrite(str(path), smear, [cv2.IMWRITE_JPEG_QUALITY, 98])
    image = read_image(path)
    assert image.shape == smear.shape
    assert image[15, 2].tolist() == pytest.approx((0, 0, 255), abs=12)  # still red


def test_non_ascii_path(tmp_path: Path, smear: np.ndarray) -> None:
    folder = tmp_path / "Ausstrich äöü 血液"
    folder.mkdir()
    path = folder / "Frotis_sanguíneo_µ.png"
    ok, encoded = cv2.imencode(".png", smear)
    assert ok
    write(path, encoded.tobytes())
    np.testing.assert_array_equal(read_image(path), smear)
    np.testing.assert_array_equal(read_image(str(path)), smear)


def test_missing_file(tmp_path: Path) -> None:
    assert reason_for(tmp_path / "nope.png") == "file not found"


def test_directory(tmp_path: Path) -> None:
    assert "folder" in reason_for(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    assert "empty" in reason_for(write(tmp_path / "empty.png", b""))


def test_text_file_named_png(tmp_path: Path) -> None:
    path = write(tmp_path / "notes.png", b"Patient 12, smear 3: looks fine\n" * 20)
    assert "not an image" in reason_for(path)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".tif", ".webp", ".bmp"])
def test_truncated_files(tmp_path: Path, smear: np.ndarray, ext: str) -> None:
    big = cv2.resize(smear, (400, 300))
    ok, encoded = cv2.imencode(ext, big)
    assert ok
    data = encoded.tobytes()
    path = write(tmp_path / f"cut{ext}", data[: len(data) * 6 // 10])
    reason = reason_for(path)
    assert "corrupt or truncated" in reason
    assert ext.upper().replace("JPG", "JPEG").replace("TIF", "TIFF")[1:] in reason


def test_corrupt_png_data(tmp_path: Path, smear: np.ndarray) -> None:
    _, encoded = cv2.imencode(".png", smear)
    data = bytearray(encoded.tobytes())
    middle = data.find(b"IDAT") + 20
    data[middle : middle + 8] = b"\xde\xad\xbe\xef" * 2
    assert "PNG data are corrupt" in reason_for(write(tmp_path / "bad.png", bytes(data)))


def test_jpeg_without_end_marker_is_refused_even_if_decoded(
    tmp_path: Path, smear: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    # OpenCV 4.x decodes a cut-off JPEG into a partly grey picture; we must not show it.
    _, encoded = cv2.imencode(".jpg", smear)
    path = write(tmp_path / "cut.jpg", encoded.tobytes()[:-2])
    monkeypatch.setattr(image_files.cv2, "imdecode", lambda data, flags: smear.copy())
    assert "truncated" in reason_for(path)


def test_permission_denied_reported(
    tmp_path: Path, smear: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "locked.png"
    cv2.imwrite(str(path), smear)

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)
    assert reason_for(path) == "permission denied"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads all")
def test_permission_denied_for_real(tmp_path: Path, smear: np.ndarray) -> None:
    path = tmp_path / "locked.png"
    cv2.imwrite(str(path), smear)
    path.chmod(0)
    try:
        assert reason_for(path) == "permission denied"
    finally:
        path.chmod(0o600)


def test_huge_png_refused_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "huge.png", png_header_claiming(30000, 30000))

    def must_not_decode(*args: object) -> None:
        raise AssertionError("decoded an image over the pixel limit")

    monkeypatch.setattr(image_files.cv2, "imdecode", must_not_decode)
    reason = reason_for(path)
    assert "30000 × 30000" in reason
    assert "900 megapixels" in reason
    assert "100 megapixels" in reason


def test_huge_jpeg_refused_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "huge.jpg", jpeg_claiming(20000, 12000))
    monkeypatch.setattr(image_files.cv2, "imdecode", lambda *a: pytest.fail("decoded"))
    assert "20000 × 12000" in reason_for(path)


def test_pixel_limit_is_a_parameter(tmp_path: Path, smear: np.ndarray) -> None:
    path = tmp_path / "small.png"
    cv2.imwrite(str(path), smear)
    assert "too large" in reason_for(path, max_pixels=1000)
    assert read_image(path, max_pixels=1500).shape == (30, 50, 3)


def test_pixel_limit_checked_after_decoding_unknown_formats(
    tmp_path: Path, smear: np.ndarray
) -> None:
    path = tmp_path / "field.ppm"  # no header parser for PPM: checked after decoding
    cv2.imwrite(str(path), smear)
    np.testing.assert_array_equal(read_image(path), smear)
    assert "too large" in reason_for(path, max_pixels=1000)


def test_byte_limit(tmp_path: Path, smear: np.ndarray) -> None:
    path = tmp_path / "field.bmp"
    cv2.imwrite(str(path), smear)
    assert "file is too large" in reason_for(path, max_bytes=1000)


def test_sixteen_bit_gray_scaled_by_type_range(tmp_path: Path) -> None:
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    path = tmp_path / "gray16.png"
    cv2.imwrite(str(path), values)
    image = read_image(path)
    assert image.shape == (1, 4, 3)
    np.testing.assert_array_equal(image[0, :, 0], [0, 1, 128, 255])
    np.testing.assert_array_equal(image[..., 0], image[..., 2])


def test_sixteen_bit_color_tiff(tmp_path: Path, smear: np.ndarray) -> None:
    path = tmp_path / "rgb16.tif"
    cv2.imwrite(str(path), smear.astype(np.uint16) * 257)
    np.testing.assert_array_equal(read_image(path), smear)


def test_float_tiff_in_unit_range(tmp_path: Path, smear: np.ndarray) -> None:
    path = tmp_path / "unit.tif"
    cv2.imwrite(str(path), smear.astype(np.float32) / 255.0)
    np.testing.assert_allclose(read_image(path), smear, atol=1)


def test_float_tiff_scaled_by_maximum_nan_and_negative_to_zero(tmp_path: Path) -> None:
    values = np.array([[[0.0, 2.0, 4.0], [np.nan, -3.0, 1.0]]], dtype=np.float32)
    path = tmp_path / "hdr.tif"
    cv2.imwrite(str(path), values)
    image = read_image(path)
    np.testing.assert_array_equal(image[0, 0], [0, 128, 255])
    np.testing.assert_array_equal(image[0, 1], [0, 0, 64])


def test_gray_png_becomes_three_channels(tmp_path: Path) -> None:
    gray = np.arange(0, 250, 10, dtype=np.uint8).reshape(5, 5)
    path = tmp_path / "gray.png"
    cv2.imwrite(str(path), gray)
    image = read_image(path)
    assert image.shape == (5, 5, 3)
    for channel in range(3):
        np.testing.assert_array_equal(image[..., channel], gray)


def test_rgba_composited_over_white(tmp_path: Path) -> None:
    bgra = np.zeros((1, 3, 4), np.uint8)
    bgra[0, :, :3] = (0, 0, 200)
    bgra[0, :, 3] = (0, 255, 128)
    path = tmp_path / "alpha.png"
    cv2.imwrite(str(path), bgra)
    image = read_image(path)
    np.testing.assert_array_equal(image[0, 0], [255, 255, 255])
    np.testing.assert_array_equal(image[0, 1], [0, 0, 200])
    np.testing.assert_array_equal(image[0, 2], [127, 127, 227])  # 200·128/255 + 127


def test_palette_png_with_transparency(tmp_path: Path) -> None:
    indices = np.array([[0, 1, 2]], dtype=np.uint8)
    palette = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]  # RGB
    path = write(tmp_path / "palette.png", palette_png(indices, palette, alpha=[255, 255, 0]))
    image = read_image(path)
    np.testing.assert_array_equal(image[0], [[0, 0, 255], [0, 255, 0], [255, 255, 255]])


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_exif_orientation_matches_opencv(
    tmp_path: Path, smear: np.ndarray, orientation: int
) -> None:
    data = jpeg_with_orientation(smear, orientation)
    path = write(tmp_path / f"o{orientation}.jpg", data)
    expected = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(read_image(path), expected)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_png_exif_orientation_matches_opencv(
    tmp_path: Path, smear: np.ndarray, orientation: int
) -> None:
    data = png_with_orientation(smear, orientation)
    path = write(tmp_path / f"o{orientation}.png", data)
    expected = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(read_image(path), expected)


@pytest.mark.parametrize(
    "make", [jpeg_with_orientation, png_with_orientation, webp_with_orientation, rgb_tiff]
)
def test_orientation_six_turns_clockwise(tmp_path: Path, smear: np.ndarray, make) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path / "rotated.img", make(smear, 6))
    image = read_image(path)
    assert image.shape == (50, 30, 3)
    # The red band on the left is on top once the picture is turned 90° clockwise,
    # and the blue band at the top is then on the right.
    assert image[2, 15].tolist() == pytest.approx((0, 0, 255), abs=12)
    assert image[25, 27].tolist() == pytest.approx((255, 0, 0), abs=12)


@pytest.mark.parametrize("orientation", [2, 3, 4, 5, 7, 8])
def test_tiff_orientation_applied_once(tmp_path: Path, smear: np.ndarray, orientation: int) -> None:
    path = write(tmp_path / "o.tif", rgb_tiff(smear, orientation))
    expected = image_files.apply_exif_orientation(smear, orientation)
    np.testing.assert_array_equal(read_image(path), expected)


def test_error_survives_pickling() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(ImageReadError("a/b.png", "file not found")))
    assert (error.path, error.reason) == (Path("a/b.png"), "file not found")
