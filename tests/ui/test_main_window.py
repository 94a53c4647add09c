"""The real MainWindow, driven as a technician would: open, step, zoom, drop files."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSize, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox
from pytestqt.qtbot import QtBot
from ui_helpers import ReportedErrors, make_field

from hemoscope.ui.images.image_session import ImageSession
from hemoscope.ui.main_window import MainWindow
from hemoscope.ui.shared.errors import LoadFailure, MessageBoxErrorReporter

TIMEOUT_MS = 10_000


def open_and_wait(qtbot: QtBot, window: MainWindow, paths: list[Path]) -> list[LoadFailure]:
    with qtbot.waitSignal(window.load_finished, timeout=TIMEOUT_MS) as blocker:
        window.open_paths(paths)
    return list(blocker.args[1])


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "field_01.png"
    make_field(path, 320, 200)
    return path


@pytest.fixture
def corrupt(tmp_path: Path) -> Path:
    path = tmp_path / "field_02.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"this is not really a PNG" * 10)
    return path


def test_opens_valid_image_and_reports_corrupt_one(
    qtbot: QtBot, window: MainWindow, reported: ReportedErrors, good: Path, corrupt: Path
) -> None:
    failures = open_and_wait(qtbot, window, [good, corrupt])

    item = window.view.pixmap_item()
    assert item is not None
    assert item.pixmap().size() == QSize(320, 200)
    red = item.pixmap().toImage().pixelColor(40, 30)
    assert (red.red(), red.green(), red.blue()) == (255, 0, 0)  # BGR converted right
    assert len(window.session) == 1
    assert window.strip.count() == 1

    assert [f.path for f in failures] == [corrupt]
    assert reported.calls == 1
    assert [f.path for f in reported] == [corrupt]
    assert "corrupt" in reported[0].reason
    assert "field_02.png" in window.status.currentMessage()

    assert window.status.file_label.text() == "field_01.png"
    assert window.status.size_label.text() == "320 × 200 px"
    assert window.status.zoom_label.text().endswith("%")
    assert window.windowTitle() == "field_01.png — HemoScope"


def test_file_open_action_uses_the_same_path(
    qtbot: QtBot, window: MainWindow, good: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_dialog(*args: object) -> tuple[list[str], str]:
        return [str(good)], ""

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", fake_dialog)
    with qtbot.waitSignal(window.load_finished, timeout=TIMEOUT_MS):
        window.window_actions.open_files.trigger()
    assert window.session.current is not None
    assert window.session.current.path == good


def test_open_action_shortcut_is_ctrl_o(window: MainWindow) -> None:
    shortcuts = [s.toString() for s in window.window_actions.open_files.shortcuts()]
    assert "Ctrl+O" in shortcuts


def test_zoom_in_out_and_fit_change_the_transform(
    qtbot: QtBot, window: MainWindow, good: Path
) -> None:
    open_and_wait(qtbot, window, [good])
    view = window.view
    fitted = view.scale_factor()
    assert view.is_fitted()

    view.zoom_in()
    assert view.scale_factor() == pytest.approx(fitted * 1.25)
    assert not view.is_fitted()
    view.zoom_out()
    view.zoom_out()
    assert view.scale_factor() == pytest.approx(fitted / 1.25)

    qtbot.keyClick(view, Qt.Key.Key_Plus)
    assert view.scale_factor() == pytest.approx(fitted)
    qtbot.keyClick(view, Qt.Key.Key_Plus)
    assert view.scale_factor() > fitted
    assert window.status.zoom_label.text() == f"{view.scale_factor() * 100:.0f} %"
    # Plain 0 is a class key (smudge cell); fitting is Ctrl+0.
    qtbot.keyClick(view, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert view.scale_factor() == pytest.approx(fitted)
    assert view.is_fitted()

    view.actual_size()
    assert view.scale_factor() == 1.0
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton)
    assert view.scale_factor() == pytest.approx(fitted)


def test_wheel_zooms_around_the_pointer(qtbot: QtBot, window: MainWindow, good: Path) -> None:
    open_and_wait(qtbot, window, [good])
    view = window.view
    view.set_scale(4.0)
    spot = QPoint(view.viewport().width() // 3, view.viewport().height() // 3)
    under_before = view.mapToScene(spot)
    wheel = QWheelEvent(
        QPointF(spot),
        QPointF(view.viewport().mapToGlobal(spot)),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), wheel)
    assert view.scale_factor() == pytest.approx(5.0)
    under_after = view.mapToScene(spot)
    assert abs(under_after.x() - under_before.x()) < 1.0
    assert abs(under_after.y() - under_before.y()) < 1.0


def test_drop_of_file_urls_opens_them(
    qtbot: QtBot, window: MainWindow, good: Path, tmp_path: Path
) -> None:
    second = tmp_path / "second.jpg"
    make_field(second, 160, 120)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(good)), QUrl.fromLocalFile(str(second))])
    point = QPointF(200, 200)
    enter = QDragEnterEvent(
        point.toPoint(),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier(0),
    )
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()

    drop = QDropEvent(
        point,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier(0),
    )
    with qtbot.waitSignal(window.load_finished, timeout=TIMEOUT_MS):
        QApplication.sendEvent(window, drop)
    assert drop.isAccepted()
    assert [e.path for e in window.session.entries] == [good, second]
    assert window.session.current_index == 0


def test_drag_without_files_is_refused(window: MainWindow) -> None:
    mime = QMimeData()
    mime.setText("just text")
    enter = QDragEnterEvent(
        QPoint(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier(0),
    )
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()


def test_page_keys_step_between_images(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    paths = [tmp_path / f"f{i}.png" for i in range(3)]
    for i, path in enumerate(paths):
        make_field(path, 100 + 10 * i, 80)
    open_and_wait(qtbot, window, paths)
    assert window.session.current_index == 0

    with qtbot.waitSignal(window.image_shown, timeout=TIMEOUT_MS) as shown:
        qtbot.keyClick(window.view, Qt.Key.Key_PageDown)
    assert shown.args == [1]
    assert window.status.position_label.text() == "2 / 3"
    assert window.strip.currentRow() == 1
    item = window.view.pixmap_item()
    assert item is not None and item.pixmap().width() == 110

    qtbot.keyClick(window.strip, Qt.Key.Key_PageDown)
    qtbot.keyClick(window.strip, Qt.Key.Key_PageDown)  # stays on the last image
    assert window.session.current_index == 2
    qtbot.keyClick(window.view, Qt.Key.Key_PageUp)
    assert window.session.current_index == 1

    window.strip.setCurrentRow(0)  # a click in the list
    assert window.session.current_index == 0
    assert window.status.file_label.text() == "f0.png"


def test_dropped_pixels_are_read_again(qtbot: QtBot, tmp_path: Path) -> None:
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    for path in paths:
        make_field(path)
    win = MainWindow(session=ImageSession(cache_bytes=1), error_reporter=pytest.fail)
    qtbot.addWidget(win)
    open_and_wait(qtbot, win, paths)
    assert win.session.pixels(0) is None  # only the newest image is kept

    with qtbot.waitSignal(win.image_shown, timeout=TIMEOUT_MS) as shown:
        win.show_index(0)
    assert shown.args == [0]
    assert win.session.current_index == 0
    win.close()


def test_folder_opens_its_images_in_order(
    qtbot: QtBot, window: MainWindow, reported: ReportedErrors, tmp_path: Path
) -> None:
    folder = tmp_path / "smear 7"
    folder.mkdir()
    for name in ["f10.png", "f2.png", "notes.txt"]:
        if name.endswith(".png"):
            make_field(folder / name, 64, 48)
        else:
            (folder / name).write_text("x")
    empty = tmp_path / "empty"
    empty.mkdir()
    failures = open_and_wait(qtbot, window, [folder, empty])
    assert [e.name for e in window.session.entries] == ["f2.png", "f10.png"]
    assert [f.path for f in failures] == [empty]
    assert "no images" in reported[0].reason


def test_reopening_a_file_does_not_duplicate_it(
    qtbot: QtBot, window: MainWindow, good: Path
) -> None:
    open_and_wait(qtbot, window, [good])
    open_and_wait(qtbot, window, [good])
    assert len(window.session) == 1
    assert window.strip.count() == 1


def test_message_box_reporter_lists_every_file(qtbot: QtBot, window: MainWindow) -> None:
    failures = [
        LoadFailure(Path("/data/a.png"), "file not found"),
        LoadFailure(Path("/data/<b>.jpg"), "the JPEG data are corrupt or truncated"),
    ]
    MessageBoxErrorReporter(window)(failures)  # returns at once: the box is not modal-blocking
    boxes = [w for w in window.findChildren(QMessageBox) if w.isVisible()]
    assert len(boxes) == 1
    box = boxes[0]
    assert "2 files" in box.text()
    assert "a.png" in box.informativeText() and "file not found" in box.informativeText()
    assert "&lt;b&gt;.jpg" in box.informativeText()  # file names are escaped
    assert "/data/a.png: file not found" in box.detailedText()
    box.close()


def test_closing_while_loading_stops_the_worker(qtbot: QtBot, tmp_path: Path) -> None:
    paths = []
    for i in range(40):
        path = tmp_path / f"f{i}.png"
        make_field(path, 400, 300)
        paths.append(path)
    win = MainWindow(error_reporter=pytest.fail)
    qtbot.addWidget(win)
    win.show()
    win.open_paths(paths)
    win.close()
    assert not win.loader.is_busy()
