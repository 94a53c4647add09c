"""ImageView on its own, and the numpy -> QImage conversion it relies on."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from hemoscope.ui.shared.image_view import MAX_SCALE, MIN_SCALE, ImageView
from hemoscope.ui.shared.qimage import bgr_to_qimage


def rgb(image: QImage, x: int, y: int) -> tuple[int, int, int]:
    color = image.pixelColor(x, y)
    return color.red(), color.green(), color.blue()


@pytest.fixture
def view(qtbot: QtBot) -> ImageView:
    widget = ImageView()
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_odd_width_rows_are_not_sheared() -> None:
    # 7 pixels * 3 bytes = 21-byte rows: not 4-byte aligned, the classic stride bug.
    image = np.zeros((5, 7, 3), np.uint8)
    image[1, 2] = (10, 20, 30)
    image[4, 6] = (7, 8, 9)
    qimage = bgr_to_qimage(image)
    assert (qimage.width(), qimage.height()) == (7, 5)
    assert rgb(qimage, 2, 1) == (30, 20, 10)
    assert rgb(qimage, 6, 4) == (9, 8, 7)


def test_crop_view_uses_parent_stride() -> None:
    big = np.zeros((20, 20, 3), np.uint8)
    big[11, 7] = (1, 2, 3)
    big[14, 11] = (4, 5, 6)
    qimage = bgr_to_qimage(big[10:15, 5:12])
    assert (qimage.width(), qimage.height()) == (7, 5)
    assert rgb(qimage, 2, 1) == (3, 2, 1)
    assert rgb(qimage, 6, 4) == (6, 5, 4)


def test_non_packed_views_are_copied() -> None:
    image = np.zeros((4, 6, 3), np.uint8)
    image[3, 5] = (10, 20, 30)
    assert rgb(bgr_to_qimage(image[:, :, ::-1]), 5, 3) == (10, 20, 30)  # now RGB
    assert rgb(bgr_to_qimage(image[::-1]), 5, 0) == (30, 20, 10)
    assert rgb(bgr_to_qimage(image[:, ::2]), 2, 3) == (0, 0, 0)
    assert bgr_to_qimage(image[::2, ::5]).size() == QSize(2, 2)


def test_qimage_owns_its_pixels() -> None:
    image = np.full((3, 3, 3), 50, np.uint8)
    qimage = bgr_to_qimage(image)
    image[:] = 0
    del image
    assert rgb(qimage, 1, 1) == (50, 50, 50)


@pytest.mark.parametrize(
    "bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4, 3))]
)
def test_wrong_arrays_are_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="uint8 BGR"):
        bgr_to_qimage(bad)


def test_empty_view_shows_placeholder_and_ignores_zoom(view: ImageView) -> None:
    assert not view.has_image()
    view.zoom_in()
    assert view.scale_factor() == 1.0
    grabbed = view.grab().toImage()  # paints the placeholder text without error
    assert not grabbed.isNull()


def test_fit_follows_resize_until_zoomed(qtbot: QtBot, view: ImageView) -> None:
    view.set_image(np.zeros((1000, 2000, 3), np.uint8))
    fitted = view.scale_factor()
    assert fitted < 0.25
    view.resize(800, 600)
    qtbot.waitUntil(lambda: view.scale_factor() > fitted * 1.5)
    view.zoom_in()
    zoomed = view.scale_factor()
    view.resize(500, 400)
    qtbot.waitUntil(lambda: view.viewport().width() < 600)
    assert view.scale_factor() == zoomed


def test_scale_is_clamped(view: ImageView) -> None:
    view.set_image(np.zeros((10, 10, 3), np.uint8))
    view.set_scale(1000)
    assert view.scale_factor() == MAX_SCALE
    view.set_scale(0)
    assert view.scale_factor() == MIN_SCALE


def test_pixels_drawn_sharp_when_zoomed_far_in(view: ImageView) -> None:
    view.set_image(np.zeros((10, 10, 3), np.uint8))
    item = view.pixmap_item()
    assert item is not None
    view.set_scale(8)
    assert item.transformationMode() == Qt.TransformationMode.FastTransformation
    view.set_scale(0.5)
    assert item.transformationMode() == Qt.TransformationMode.SmoothTransformation


def test_zoom_changed_signal(qtbot: QtBot, view: ImageView) -> None:
    view.set_image(np.zeros((100, 100, 3), np.uint8))
    with qtbot.waitSignal(view.zoom_changed) as blocker:
        view.actual_size()
    assert blocker.args == [1.0]


def test_digit_keys_are_left_for_cell_labels(qtbot: QtBot, view: ImageView) -> None:
    view.set_image(np.zeros((100, 100, 3), np.uint8))
    before = view.scale_factor()
    qtbot.keyClick(view, Qt.Key.Key_1)
    assert view.scale_factor() == before


def test_clear(view: ImageView) -> None:
    view.set_image(np.zeros((10, 10, 3), np.uint8))
    view.clear()
    assert view.pixmap_item() is None
    assert view.scene().items() == []
