"""ImageSession: the Qt-free model behind the image strip (no QApplication needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hemoscope.ui.images.image_session import ImageSession


def img(height: int = 10, width: int = 20) -> np.ndarray:
    return np.zeros((height, width, 3), np.uint8)


def test_add_select_step() -> None:
    session = ImageSession()
    assert session.current is None
    assert session.step(1) is None
    assert session.add(Path("a.png"), img()) == (0, True)
    assert session.add(Path("b.png"), img(30, 40)) == (1, True)
    assert session.current_index is None
    assert session.step(1) == 1  # from the start when nothing is selected
    entry = session.select(1)
    assert (entry.name, entry.width, entry.height) == ("b.png", 40, 30)
    assert session.step(+5) == 1
    assert session.step(-5) == 0
    with pytest.raises(IndexError):
        session.select(2)


def test_same_file_added_again_is_refreshed(tmp_path: Path) -> None:
    session = ImageSession()
    path = tmp_path / "a.png"
    session.add(path, img())
    index, is_new = session.add(tmp_path / "." / "a.png", img(5, 5))
    assert (index, is_new) == (0, False)
    assert len(session) == 1
    assert session.entries[0].width == 5
    assert session.index_of(path) == 0
    assert session.index_of(tmp_path / "other.png") is None


def test_cache_keeps_newest_within_budget() -> None:
    one = img().nbytes
    session = ImageSession(cache_bytes=2 * one)
    for name in "abc":
        session.add(Path(f"{name}.png"), img())
    assert session.pixels(0) is None
    assert session.pixels(1) is not None
    assert session.pixels(2) is not None
    assert session.cached_bytes() == 2 * one
    session.pixels(1)  # b used last: c goes first
    session.add(Path("d.png"), img())
    assert session.pixels(2) is None
    assert session.pixels(1) is not None


def test_cache_keeps_one_image_even_if_too_big() -> None:
    session = ImageSession(cache_bytes=1)
    session.add(Path("a.png"), img())
    assert session.pixels(0) is not None
