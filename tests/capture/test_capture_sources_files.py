"""Image files and folders stepped through as still fields; video files paced to their fps."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from hemoscope.capture.folder import ImageFolderSource
from hemoscope.capture.source import FrameSource, SourceError, SourceLost
from hemoscope.capture.video import VideoEnded, VideoFileSource


def field(value: int, size: tuple[int, int] = (40, 30)) -> np.ndarray:
    return np.full((size[1], size[0], 3), value, np.uint8)


def write_images(folder: Path, values: dict[str, int]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, value in values.items():
        assert cv2.imwrite(str(folder / name), field(value))


@pytest.fixture
def smears(tmp_path: Path) -> Path:
    folder = tmp_path / "smear-12"
    write_images(folder, {"f1.png": 10, "f2.png": 20, "f10.png": 100})
    (folder / "f3.png").write_bytes(b"not a png at all")  # unreadable, between 2 and 10
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_a_folder_is_stepped_through_in_natural_order_skipping_bad_files(
    smears: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = ImageFolderSource(smears)
    info = source.open()
    assert (info.kind, info.name, info.width, info.height, info.fps) == (
        "files",
        "smear-12/",
        40,
        30,
        0.0,
    )
    assert [p.name for p in source.paths] == ["f1.png", "f2.png", "f3.png", "f10.png"]
    assert source.current_path is not None and source.current_path.name == "f1.png"
    assert source.read()[0, 0, 0] == 10
    assert source.next() and source.read()[0, 0, 0] == 20
    assert source.next() and source.current_path.name == "f10.png"  # f3.png skipped
    assert source.read()[0, 0, 0] == 100
    assert [(f.path.name, f.reason) for f in source.failures] == [
        ("f3.png", "not an image file, or a format that cannot be read")
    ]
    assert "skipping" in caplog.text and "f3.png" in caplog.text
    assert not source.next()  # the end, without loop
    assert source.index == 3
    assert source.previous() and source.index == 1  # f3.png is not tried again
    assert len(source.failures) == 1
    assert source.seek(2) and source.index == 3  # unreadable: the next readable one
    with pytest.raises(IndexError):
        source.seek(4)
    assert isinstance(source, FrameSource)
    source.close()


def test_loop_wraps_round(smears: Path) -> None:
    source = ImageFolderSource(smears, loop=True)
    source.open()
    assert source.previous() and source.current_path is not None
    assert source.current_path.name == "f10.png"
    assert source.next() and source.current_path.name == "f1.png"


def test_files_and_folders_together(tmp_path: Path, smears: Path) -> None:
    single = tmp_path / "single.png"
    cv2.imwrite(str(single), field(77))
    source = ImageFolderSource([single, smears])
    assert source.open().name == "2 files and folders"
    assert [p.name for p in source.paths][:2] == ["single.png", "f1.png"]
    assert ImageFolderSource(single).open().name == "single.png"


def test_open_says_what_is_wrong(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="No image files in empty/"):
        ImageFolderSource(tmp_path / "empty").open()
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8 garbage")
    with pytest.raises(SourceError, match=r"None of the 1 image files could be read \(bad\.jpg"):
        ImageFolderSource(tmp_path / "bad.jpg").open()


def test_still_reads_return_the_same_read_only_frame_without_spinning(smears: Path) -> None:
    source = ImageFolderSource(smears, poll_interval=0.05)
    source.open()
    first = source.read()
    assert not first.flags.writeable
    start = time.monotonic()
    again = source.read()  # nothing changed: waits one poll interval, same object
    waited = time.monotonic() - start
    assert again is first
    assert 0.04 < waited < 0.3


def test_a_step_from_another_thread_wakes_a_waiting_read(smears: Path) -> None:
    source = ImageFolderSource(smears, poll_interval=5.0)
    source.open()
    first = source.read()
    stepper = threading.Timer(0.05, source.next)
    start = time.monotonic()
    stepper.start()
    frame = source.read()
    stepper.join()
    assert frame is not first and frame[0, 0, 0] == 20
    assert time.monotonic() - start < 1.0
    closer = threading.Timer(0.05, source.close)
    closer.start()
    with pytest.raises(SourceError, match="not open"):
        source.read()
    closer.join()


def write_video(path: Path, frames: int, fps: float = 50.0) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (64, 48))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(field(i * 40, (64, 48)))
    writer.release()


def brightness(frame: np.ndarray) -> int:
    return round(float(frame.mean()) / 40)


def test_a_video_plays_at_its_own_rate_and_loops(tmp_path: Path) -> None:
    path = tmp_path / "session.avi"
    write_video(path, 5, fps=50.0)
    source = VideoFileSource(path)
    info = source.open()
    assert (info.kind, info.name, info.width, info.height, info.fps) == (
        "video",
        "session.avi",
        64,
        48,
        50.0,
    )
    assert source.frame_count == 5
    start = time.monotonic()
    levels = [brightness(source.read()) for _ in range(12)]
    elapsed = time.monotonic() - start
    assert levels == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]
    assert 0.2 < elapsed < 0.5  # 11 periods of 20 ms
    assert source.position == 2
    source.close()


def test_a_video_without_loop_ends_with_video_ended(tmp_path: Path) -> None:
    path = tmp_path / "short.avi"
    write_video(path, 3)
    source = VideoFileSource(path, loop=False)
    source.open()
    for _ in range(3):
        source.read()
    with pytest.raises(VideoEnded, match=r"End of the video short\.avi"):
        source.read()
    assert issubclass(VideoEnded, SourceLost)
    source.open()  # from the start again
    assert brightness(source.read()) == 0
    source.close()


def test_a_video_file_that_disappears_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "gone.avi"
    write_video(path, 2)
    source = VideoFileSource(path, loop=False)
    source.open()
    source.read()
    source.read()
    path.unlink()
    with pytest.raises(SourceLost, match="can no longer be read"):
        source.read()


def test_video_open_failures(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        VideoFileSource(tmp_path / "missing.avi").open()
    (tmp_path / "junk.avi").write_bytes(b"junk" * 100)
    with pytest.raises(SourceError, match="cannot be played"):
        VideoFileSource(tmp_path / "junk.avi").open()
