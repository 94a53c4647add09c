"""list_images: folders expanded in natural order, other paths kept as given."""

from __future__ import annotations

from pathlib import Path

import pytest

from hemoscope.capture.image_files import is_image_file_name, list_images


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in [
        "img10.PNG",
        "img2.jpg",
        "img1.jpeg",
        "scan.TIFF",
        "b.tif",
        "c.bmp",
        "d.webp",
        "notes.txt",
        ".hidden.png",
        "archive.png.bak",
    ]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.png").write_bytes(b"x")
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "thumb.png").write_bytes(b"x")
    return tmp_path


def names(paths: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


def test_folder_natural_order_case_insensitive(folder: Path) -> None:
    assert names(list_images([folder]), folder) == [
        "b.tif",
        "c.bmp",
        "d.webp",
        "img1.jpeg",
        "img2.jpg",
        "img10.PNG",
        "scan.TIFF",
    ]


def test_recursive_adds_subfolders_after_files(folder: Path) -> None:
    found = names(list_images(folder, recursive=True), folder)
    assert found[-1] == "sub/deep.png"
    assert ".cache/thumb.png" not in found
    assert len(found) == 8


def test_files_kept_as_given_even_missing_or_other_extension(folder: Path) -> None:
    missing = folder / "gone.png"
    paths = [folder / "notes.txt", missing, folder / "img2.jpg"]
    assert list_images(paths) == paths


def test_duplicates_dropped_order_kept(folder: Path) -> None:
    first = folder / "img2.jpg"
    result = list_images([first, folder, str(first)])
    assert result[0] == first
    assert result.count(first) == 1
    assert len(result) == 7


def test_empty_folder(tmp_path: Path) -> None:
    assert list_images(tmp_path) == []


def test_is_image_file_name() -> None:
    assert is_image_file_name("A.JPG")
    assert is_image_file_name(Path("x/y.tiff"))
    assert not is_image_file_name("x.gif")
    assert not is_image_file_name("jpg")
