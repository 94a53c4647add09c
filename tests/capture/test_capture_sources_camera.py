"""USB cameras, through a scripted cv2.VideoCapture: listing, resolution, unplug, replug;
and the choice between camera and simulator."""

from __future__ import annotations

import logging

import cv2
import pytest
from capture_fakes import FakeCameras, FakeDevice

from hemoscope.capture import camera as camera_module
from hemoscope.capture.best import default_source, open_best_source
from hemoscope.capture.camera import MAX_FAILED_READS, CameraSource, list_cameras
from hemoscope.capture.simulator import SimulatedMicroscope
from hemoscope.capture.source import FrameSource, SourceError, SourceLost


def small_simulator() -> SimulatedMicroscope:
    return SimulatedMicroscope(fps=500, size=(64, 48), canvas=(256, 192), noise=0)


def test_list_cameras_reports_the_devices_that_open() -> None:
    cameras = FakeCameras({0: FakeDevice(), 2: FakeDevice(width=1280, height=720)})
    found = list_cameras(4, capture_factory=cameras)
    assert [(c.index, c.width, c.height) for c in found] == [(0, 640, 480), (2, 1280, 720)]
    assert [index for index, _ in cameras.calls] == [0, 1, 2, 3]
    assert all(backend == camera_module.default_backend() for _, backend in cameras.calls)


def test_list_cameras_skips_busy_devices_and_releases_every_probe() -> None:
    free, busy = FakeDevice(), FakeDevice(busy=True)
    found = list_cameras(2, capture_factory=FakeCameras({0: busy, 1: free}))
    assert [c.index for c in found] == [1]
    assert free.opens == free.releases == 1


def test_list_cameras_without_devices_is_quick_and_empty() -> None:
    # The real OpenCV on a machine with no camera: Linux probes only /dev/video* nodes.
    assert isinstance(list_cameras(2), list)


def test_open_sets_the_requested_resolution() -> None:
    device = FakeDevice()
    source = CameraSource(0, 1280, 720, capture_factory=FakeCameras({0: device}))
    info = source.open()
    assert (info.kind, info.width, info.height, info.fps) == ("camera", 1280, 720, 30.0)
    assert (cv2.CAP_PROP_FRAME_WIDTH, 1280.0) in device.requested
    assert (cv2.CAP_PROP_FRAME_HEIGHT, 720.0) in device.requested
    assert source.read().shape == (720, 1280, 3)
    source.close()
    source.close()  # twice is fine
    assert device.releases == 1


def test_a_size_the_camera_lacks_gives_the_nearest_and_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = CameraSource(0, 1000, 700, capture_factory=FakeCameras({0: FakeDevice()}))
    with caplog.at_level(logging.WARNING):
        info = source.open()
    assert (info.width, info.height) == (1280, 720)
    assert "asked for 1000x700" in caplog.text
    source.close()


def test_open_failures_say_why() -> None:
    with pytest.raises(SourceError, match="not connected, or another program is using it"):
        CameraSource(3, capture_factory=FakeCameras({})).open()
    mute = FakeDevice(dead_frames=100)
    with pytest.raises(SourceError, match="sends no pictures"):
        CameraSource(0, capture_factory=FakeCameras({0: mute})).open()
    assert mute.releases == 1


def test_a_slow_starting_camera_opens() -> None:
    source = CameraSource(0, capture_factory=FakeCameras({0: FakeDevice(dead_frames=3)}))
    assert source.open().width == 640
    source.close()


def test_unplug_mid_stream_raises_source_lost_and_replug_reconnects() -> None:
    device = FakeDevice()
    source = CameraSource(0, capture_factory=FakeCameras({0: device}))
    source.open()
    for _ in range(5):
        assert source.read().shape == (480, 640, 3)
    device.plugged = False
    with pytest.raises(SourceLost, match="stopped sending pictures") as lost:
        source.read()
    assert "case is kept" in str(lost.value)
    assert device.releases == 1  # the dead device was let go
    with pytest.raises(SourceError, match="not open"):
        source.read()
    with pytest.raises(SourceError, match="not connected"):
        source.open()  # still unplugged
    device.plugged = True
    assert source.open().width == 640
    assert source.read().shape == (480, 640, 3)
    source.close()


def test_single_glitches_are_not_a_loss() -> None:
    device = FakeDevice(glitches=[3, 6, 7])
    source = CameraSource(0, capture_factory=FakeCameras({0: device}))
    source.open()
    frames = [source.read() for _ in range(6)]
    assert len(frames) == 6
    device.glitches = list(range(device.frames_read + 1, device.frames_read + 1 + MAX_FAILED_READS))
    with pytest.raises(SourceLost):
        source.read()


def test_a_camera_is_a_frame_source() -> None:
    assert isinstance(CameraSource(0, capture_factory=FakeCameras({})), FrameSource)


def test_best_source_is_the_first_camera_that_works(caplog: pytest.LogCaptureFixture) -> None:
    cameras = FakeCameras({0: FakeDevice(dead_frames=100), 1: FakeDevice(width=1280, height=720)})
    with caplog.at_level(logging.INFO, logger="hemoscope.capture"):
        source = open_best_source(max_index=3, capture_factory=cameras, simulator=small_simulator)
    try:
        assert isinstance(source, CameraSource)
        assert (source.index, source.info.width) == (1, 1280)
        assert f"using {source.info.name} (1280 x 720)" in caplog.text
    finally:
        source.close()


def test_best_source_falls_back_to_the_simulator_and_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cameras = FakeCameras({0: FakeDevice(dead_frames=100)})
    with caplog.at_level(logging.INFO, logger="hemoscope.capture"):
        source = open_best_source(max_index=2, capture_factory=cameras, simulator=small_simulator)
    assert isinstance(source, SimulatedMicroscope)
    assert source.read().shape == (48, 64, 3)
    assert "using the simulated microscope: " in caplog.text
    assert "opened but sends no pictures" in caplog.text
    source.close()


def test_best_source_without_cameras_or_without_wanting_one() -> None:
    source = default_source(max_index=2, capture_factory=FakeCameras({}), simulator=small_simulator)
    assert source.info.kind == "simulated"
    source.close()
    cameras = FakeCameras({0: FakeDevice()})
    source = open_best_source(False, capture_factory=cameras, simulator=small_simulator)
    assert source.info.kind == "simulated"
    assert cameras.calls == []
    source.close()
