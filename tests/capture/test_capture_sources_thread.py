"""CaptureThread: newest frame only, delivered fps, loss reported, restart, clean stop."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from capture_fakes import FakeCameras, FakeDevice

from hemoscope.capture.camera import CameraSource
from hemoscope.capture.capture_thread import CaptureThread
from hemoscope.capture.folder import ImageFolderSource
from hemoscope.capture.simulator import SimulatedMicroscope
from hemoscope.capture.source import Frame, SourceError, SourceInfo, SourceLost


def fast_sim(**options: object) -> SimulatedMicroscope:
    settings: dict[str, object] = {"canvas": (256, 192), "size": (64, 48), "fps": 200.0}
    settings.update(options)
    return SimulatedMicroscope(**settings)  # type: ignore[arg-type]


def test_latest_frame_counter_fps_and_clean_stop() -> None:
    baseline = threading.active_count()
    opened: list[SourceInfo] = []
    capture = CaptureThread(fast_sim(), on_opened=opened.append)
    assert capture.latest() == (None, 0, 0.0)
    capture.start()
    try:
        assert capture.running
        first = capture.wait_for_frame(0, timeout=2.0)
        assert first is not None and first.number >= 1
        assert first.frame is not None and first.frame.shape == (48, 64, 3)
        time.sleep(0.25)
        frame, number, t = capture.latest()
        assert number > first.number + 10
        assert t > first.t and frame is not first.frame
        assert 120 < capture.fps < 260  # the simulator's 200 fps, as delivered
        assert capture.state == "running"
        assert [info.kind for info in opened] == ["simulated"]
        with pytest.raises(RuntimeError, match="already running"):
            capture.start()
    finally:
        assert capture.stop()
    assert capture.state == "stopped" and not capture.running
    assert threading.active_count() == baseline
    assert capture.latest().number >= number  # the last frame stays available
    assert capture.stop()  # twice is fine


def test_loss_is_reported_and_start_reconnects() -> None:
    source = fast_sim()
    lost: list[SourceError] = []
    reported = threading.Event()

    def on_lost(error: SourceError) -> None:
        lost.append(error)
        reported.set()

    with CaptureThread(source, on_lost=on_lost) as capture:
        assert capture.wait_for_frame(0, 2.0) is not None
        source.disconnect()
        assert reported.wait(2.0)
        assert isinstance(lost[0], SourceLost) and "disconnected" in str(lost[0])
        deadline = time.monotonic() + 2.0
        while capture.running and time.monotonic() < deadline:
            time.sleep(0.01)
        assert capture.state == "lost" and capture.error is lost[0]
        before = capture.latest()
        assert before.frame is not None  # the last picture is still there
        capture.start()  # replug
        after = capture.wait_for_frame(before.number, 2.0)
        assert after is not None and capture.state == "running"
    assert capture.state == "stopped"


def test_a_restart_right_after_the_loss_callback_is_allowed() -> None:
    source = fast_sim(fail_after=3)
    restarts = threading.Event()
    capture = CaptureThread(source, on_lost=lambda error: restarts.set())
    capture.start()
    assert restarts.wait(2.0)
    capture.start()  # the thread may still be returning from the callback
    try:
        assert capture.wait_for_frame(3, 2.0) is not None
    finally:
        capture.stop()


def test_an_open_failure_is_reported_as_failed() -> None:
    errors: list[SourceError] = []
    camera = CameraSource(0, capture_factory=FakeCameras({}))
    capture = CaptureThread(camera, on_lost=errors.append)
    capture.start()
    assert capture.wait_for_frame(0, 2.0) is None
    capture.stop()
    assert capture.state == "failed"
    assert "could not be opened" in str(errors[0])


def test_an_unplugged_camera_through_the_thread() -> None:
    device = FakeDevice(width=32, height=24)
    lost = threading.Event()
    with CaptureThread(
        CameraSource(0, capture_factory=FakeCameras({0: device})), on_lost=lambda e: lost.set()
    ) as capture:
        assert capture.wait_for_frame(3, 2.0) is not None
        device.plugged = False
        assert lost.wait(2.0)
        assert device.releases == device.opens == 1
        device.plugged = True
        capture.start()
        assert capture.wait_for_frame(capture.latest().number, 2.0) is not None


class Exploding:
    """A source with a bug: it raises something other than SourceError."""

    info = SourceInfo("simulated", "Broken source", 8, 8, 100.0)

    def __init__(self) -> None:
        self.closed = 0

    def open(self) -> SourceInfo:
        return self.info

    def read(self) -> Frame:
        time.sleep(0.01)
        raise ZeroDivisionError("oops")

    def close(self) -> None:
        self.closed += 1


def test_unexpected_errors_are_reported_as_a_loss_and_the_source_closed() -> None:
    errors: list[SourceError] = []
    source = Exploding()
    capture = CaptureThread(source, on_lost=errors.append)
    capture.start()
    capture.wait_for_frame(0, 1.0)
    capture.stop()
    assert capture.state == "lost"
    assert isinstance(errors[0], SourceLost) and "Broken source failed: oops" in str(errors[0])
    assert isinstance(errors[0].__cause__, ZeroDivisionError)
    assert source.closed == 1


def test_stills_count_as_new_frames_only_when_the_field_changes(tmp_path: Path) -> None:
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"field{i}.png"), np.full((20, 30, 3), 50 * i, np.uint8))
    folder = ImageFolderSource(tmp_path, poll_interval=0.02)
    with CaptureThread(folder) as capture:
        first = capture.wait_for_frame(0, 2.0)
        assert first is not None and first.number == 1
        time.sleep(0.15)  # several polls of the unchanged still
        assert capture.latest().number == 1
        assert capture.fps == 0.0
        folder.next()
        second = capture.wait_for_frame(1, 2.0)
        assert second is not None and second.number == 2
        assert second.frame is not None and second.frame[0, 0, 0] == 50


def test_a_source_opened_beforehand() -> None:
    source = fast_sim()
    source.open()
    with CaptureThread(source, open_source=False) as capture:
        assert capture.wait_for_frame(0, 2.0) is not None
