"""The OpenCV the station runs on (on Linux x86-64 its own build, packaging/opencv/) has
what the station needs: every image format it opens, FFmpeg for recordings in the usual
containers and codecs, the platform's camera backend, and the functions the vision layer
calls.

recordings/ holds one second (10 frames, 96x64) of FFmpeg's test pattern in each
container and codec the station plays, made with
``ffmpeg -f lavfi -i testsrc2=size=96x64:rate=10:duration=1 -c:v CODEC FILE``
(libx264, libx265, mpeg4, mjpeg, libvpx-vp9, libvpx)."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from cv2 import videoio_registry

from hemoscope.capture.image_files import IMAGE_EXTENSIONS
from hemoscope.capture.video import VideoEnded, VideoFileSource

RECORDINGS = sorted((Path(__file__).parent / "recordings").iterdir())

CAMERA_BACKEND = {"linux": cv2.CAP_V4L2, "win32": cv2.CAP_DSHOW, "darwin": cv2.CAP_AVFOUNDATION}


@pytest.mark.parametrize("suffix", sorted(IMAGE_EXTENSIONS))
def test_every_image_format_the_station_opens_round_trips(tmp_path: Path, suffix: str) -> None:
    image = np.zeros((24, 32, 3), np.uint8)
    image[:, :16] = (40, 90, 200)
    path = tmp_path / f"field{suffix}"
    assert cv2.imwrite(str(path), image), f"OpenCV cannot write {suffix}"
    back = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert back is not None, f"OpenCV cannot read {suffix}"
    assert back.shape == image.shape
    # lossy formats (JPEG, WebP) stay close
    assert np.abs(back.astype(int) - image.astype(int)).mean() < 4


def test_recordings_play_through_ffmpeg() -> None:
    assert videoio_registry.hasBackend(cv2.CAP_FFMPEG), cv2.getBuildInformation()


@pytest.mark.parametrize("recording", RECORDINGS, ids=lambda p: p.name)
def test_recordings_in_every_container_and_codec_play(recording: Path) -> None:
    source = VideoFileSource(recording, loop=False, sleep=lambda _s: None)
    info = source.open()
    assert (info.width, info.height) == (96, 64)
    frames = []
    try:
        while True:
            frames.append(source.read())
    except VideoEnded:
        pass
    finally:
        source.close()
    assert len(frames) == 10
    assert all(f.shape == (64, 96, 3) and f.dtype == np.uint8 for f in frames)
    # the test pattern moves: the frames differ
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 1


@pytest.mark.skipif(sys.platform not in CAMERA_BACKEND, reason="no known camera backend")
def test_the_platform_camera_backend_is_built_in() -> None:
    assert videoio_registry.hasBackend(CAMERA_BACKEND[sys.platform])


def test_the_functions_the_vision_layer_calls_behave() -> None:
    field = np.full((48, 64, 3), 200, np.uint8)
    cv2.circle(field, (32, 24), 8, (90, 40, 120), -1)
    small = cv2.resize(field, (32, 24), interpolation=cv2.INTER_AREA)
    assert small.shape == (24, 32, 3)
    rgb = cv2.cvtColor(field, cv2.COLOR_BGR2RGB)
    assert tuple(rgb[24, 32]) == (120, 40, 90)
    blurred = cv2.GaussianBlur(field, (0, 0), 2.0)
    assert 90 < blurred[24, 40, 0] < 200  # the cell's edge is smoothed into the background
    ok, jpeg = cv2.imencode(".jpg", field, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    assert cv2.imdecode(jpeg, cv2.IMREAD_COLOR).shape == field.shape
