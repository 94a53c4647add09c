"""The simulated microscope: realistic synthetic smear, drift, focus, jumps, pacing, loss."""

from __future__ import annotations

import collections
import itertools
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from hemoscope.capture.pacing import Pacer
from hemoscope.capture.simulator import SimulatedMicroscope
from hemoscope.capture.smear_layout import smear_layout
from hemoscope.capture.smear_synth import synthesize_smear
from hemoscope.capture.source import FrameSource, SourceError, SourceLost

CANVAS = (1024, 768)


def sim(**options: object) -> SimulatedMicroscope:
    settings: dict[str, object] = {"canvas": CANVAS, "size": (320, 240), "fps": 1000.0}
    settings.update(options)
    return SimulatedMicroscope(**settings)  # type: ignore[arg-type]


def sharpness(frame: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def test_the_synthetic_smear_looks_like_a_stained_smear() -> None:
    image = synthesize_smear(*CANVAS, seed=0).astype(np.int32)
    b, g, r = image[:, :, 0], image[:, :, 1], image[:, :, 2]
    background = (g > 190) & (b > 190)
    red_cells = (r - g > 25) & (g > 110)  # pink: green absorbed by haemoglobin
    nuclei = (g < 110) & (b - g > 30)  # violet: dark in green, blue kept
    assert 0.25 < background.mean() < 0.7
    assert 0.2 < red_cells.mean() < 0.6
    assert 0.002 < nuclei.mean() < 0.05
    assert r[background].mean() > g[background].mean()  # a pink-beige background


def test_the_smear_is_cached_read_only_seamless_and_seeded() -> None:
    image = synthesize_smear(*CANVAS, seed=0)
    assert synthesize_smear(*CANVAS, seed=0) is image
    assert not image.flags.writeable
    assert image.shape == (CANVAS[1], CANVAS[0], 3)
    as_int = image.astype(np.int32)
    # the right edge continues on the left, the bottom on the top: the step across the
    # seam is no bigger than the biggest step between two neighbouring columns (rows)
    column_steps = np.abs(as_int[:, 1:] - as_int[:, :-1]).mean(axis=(0, 2))
    row_steps = np.abs(as_int[1:] - as_int[:-1]).mean(axis=(1, 2))
    assert np.abs(as_int[:, 0] - as_int[:, -1]).mean() <= column_steps.max()
    assert np.abs(as_int[0] - as_int[-1]).mean() <= row_steps.max()
    other = synthesize_smear(*CANVAS, seed=1)
    assert np.abs(other.astype(np.int32) - as_int).mean() > 10


def test_frames_have_the_asked_size_and_are_fresh_copies() -> None:
    source = sim()
    info = source.open()
    assert (info.kind, info.width, info.height, info.fps) == ("simulated", 320, 240, 1000.0)
    assert info.name == "Simulated microscope"
    first = source.read()
    assert first.shape == (240, 320, 3) and first.dtype == np.uint8
    first[:] = 0
    assert source.frame_at(0).any()  # drawing on a frame does not touch the slide
    assert isinstance(source, FrameSource)
    source.close()


def test_the_same_seed_gives_the_same_frames() -> None:
    a, b, c = sim(seed=3), sim(seed=3), sim(seed=4)
    for source in (a, b, c):
        source.open()
    assert all(np.array_equal(a.frame_at(i), b.frame_at(i)) for i in (0, 17, 900))
    assert not np.array_equal(a.frame_at(0), c.frame_at(0))


def test_the_view_drifts_slowly_and_smoothly_and_wraps() -> None:
    source = sim(drift=40.0, fps=30.0)
    source.open()
    positions = [source.position(i) for i in range(0, 30 * 120, 15)]  # two minutes
    steps = []
    for (x0, y0), (x1, y1) in itertools.pairwise(positions):
        dx = min(abs(x1 - x0), CANVAS[0] - abs(x1 - x0))  # across the wrap
        dy = min(abs(y1 - y0), CANVAS[1] - abs(y1 - y0))
        steps.append(np.hypot(dx, dy))
    assert max(steps) <= 40.0 * 0.5 * 1.2 + 2  # at most ~drift px/s over half a second
    assert np.mean(steps) > 5  # it does move
    assert all(0 <= x < CANVAS[0] and 0 <= y < CANVAS[1] for x, y in positions)


def test_no_drift_means_a_still_view() -> None:
    source = sim(drift=0.0, noise=0.0, focus_cycle=0.0)
    source.open()
    assert np.array_equal(source.frame_at(0), source.frame_at(500))


def test_views_across_the_edge_continue_the_slide() -> None:
    source = sim(drift=0.0, noise=0.0, focus_cycle=0.0, vignette=0.0)
    source.open()
    source.jump(to=(CANVAS[0] - 100, CANVAS[1] - 50))
    assert source.position() == (CANVAS[0] - 100, CANVAS[1] - 50)
    frame = source.read()
    slide = synthesize_smear(*CANVAS, seed=0)
    rows = np.arange(CANVAS[1] - 50, CANVAS[1] - 50 + 240) % CANVAS[1]
    cols = np.arange(CANVAS[0] - 100, CANVAS[0] - 100 + 320) % CANVAS[0]
    assert np.array_equal(frame, slide[rows[:, None], cols[None, :]])


def test_focus_is_mostly_sharp_and_sometimes_drifts_off() -> None:
    source = sim(drift=0.0, noise=0.0, vignette=0.0, focus_cycle=10.0, focus_blur=3.0, fps=30.0)
    source.open()
    sigmas = np.array([source.focus_sigma(i) for i in range(300)])  # one cycle
    assert (sigmas == 0).mean() > 0.75
    assert sigmas.max() == pytest.approx(3.0)
    blurred = int(np.argmax(sigmas))
    sharp = int(np.argmin(sigmas))
    assert sharpness(source.frame_at(blurred)) < 0.5 * sharpness(source.frame_at(sharp))
    still = sim(focus_cycle=0.0)
    still.open()
    assert all(still.focus_sigma(i) == 0 for i in range(0, 3000, 7))


def test_jump_moves_to_a_new_area_deterministically() -> None:
    a, b = sim(), sim()
    for source in (a, b):
        source.open()
        source.read()
    before = a.position()
    a.jump()
    b.jump()
    after = a.position()
    assert after == b.position()
    dx = min(abs(after[0] - before[0]), CANVAS[0] - abs(after[0] - before[0]))
    dy = min(abs(after[1] - before[1]), CANVAS[1] - abs(after[1] - before[1]))
    assert np.hypot(dx, dy) > 100


def test_read_paces_itself_to_fps() -> None:
    source = sim(fps=100.0)
    source.open()
    start = time.monotonic()
    for _ in range(21):
        source.read()
    elapsed = time.monotonic() - start
    assert 0.18 < elapsed < 0.45  # 20 frame periods after the first frame
    assert source.frames_served == 21


def test_pacer_deadlines_do_not_accumulate_error() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds + 0.004  # every sleep overshoots by 4 ms

    pacer = Pacer(50.0, clock=lambda: now[0], sleep=sleep)
    dues = [pacer.wait() for _ in range(51)]
    assert dues[-1] == pytest.approx(1.0)  # 50 periods of 20 ms, not 50 x 24 ms
    assert now[0] == pytest.approx(1.004)
    now[0] += 5.0  # a long stall: start a new schedule instead of bursting
    restart = pacer.wait()
    assert restart == pytest.approx(now[0])
    assert pacer.wait() == pytest.approx(restart + 0.02)


def test_disconnect_raises_source_lost_and_open_reconnects() -> None:
    source = sim()
    source.open()
    source.read()
    source.disconnect()
    with pytest.raises(SourceLost, match="disconnected"):
        source.read()
    with pytest.raises(SourceError, match="not open"):
        source.read()
    served = source.frames_served
    source.open()
    source.read()
    assert source.frames_served == served + 1  # the stage is where it was


def test_fail_after_n_frames_and_failed_reopens() -> None:
    source = sim(fail_after=3)
    source.open()
    for _ in range(3):
        source.read()
    with pytest.raises(SourceLost):
        source.read()
    source.open()
    source.fail_after(1, failed_reopens=2)
    source.read()
    with pytest.raises(SourceLost):
        source.read()
    for _ in range(2):
        with pytest.raises(SourceError, match="not connected"):
            source.open()
    source.open()
    assert source.read().shape == (240, 320, 3)


def test_a_user_image_bounces_inside_its_edges(tmp_path: Path) -> None:
    slide = np.random.default_rng(0).integers(0, 255, (500, 700, 3), np.uint8)
    path = tmp_path / "smear.png"
    cv2.imwrite(str(path), slide)
    source = sim(image=path, drift=200.0, noise=0.0, vignette=0.0, focus_cycle=0.0)
    assert source.open().name == "Simulated microscope (smear.png)"
    for i in range(0, 3000, 50):
        x, y = source.position(i)
        assert 0 <= x <= 700 - 320 and 0 <= y <= 500 - 240
        assert np.array_equal(source.frame_at(i), slide[y : y + 240, x : x + 320])


def test_a_small_user_image_is_scaled_to_cover_the_view() -> None:
    source = sim(image=np.full((100, 120, 3), 200, np.uint8), noise=0.0, vignette=0.0)
    source.open()
    assert source.read().shape == (240, 320, 3)


def test_bad_user_images_fail_at_open(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"missing\.png.*file not found"):
        sim(image=tmp_path / "missing.png").open()
    with pytest.raises(SourceError, match="8-bit BGR"):
        sim(image=np.zeros((300, 400), np.uint8)).open()


def test_making_a_frame_takes_well_under_10_ms() -> None:
    source = SimulatedMicroscope(canvas=CANVAS, focus_cycle=4.0, fps=30.0)  # 640 x 480
    source.open()
    times = []
    for index in range(0, 240, 2):  # two focus cycles, sharp and blurred
        start = time.perf_counter()
        source.frame_at(index)
        times.append(time.perf_counter() - start)
    assert float(np.median(times)) < 0.005
    assert float(np.mean(times)) < 0.01


def test_the_layout_is_seeded_and_holds_every_kind_of_cell() -> None:
    cells = smear_layout(*CANVAS, seed=0)
    assert smear_layout(*CANVAS, seed=0) == cells
    assert smear_layout(*CANVAS, seed=1) != cells
    kinds = collections.Counter(cell.kind for cell in cells)
    red_area = sum(np.pi * c.radius**2 for c in cells if c.kind == "rbc")
    assert 0.35 < red_area / (CANVAS[0] * CANVAS[1]) < 0.6
    assert 2 <= sum(1 for c in cells if c.is_wbc) <= 5  # about 0.8 per 640 x 480 field
    assert kinds["platelet"] >= kinds["rbc"] // 15
    big = smear_layout(4096, 3072, seed=0)
    assert {c.kind for c in big if c.is_wbc} >= {"neutrophil", "lymphocyte", "monocyte"}


def test_visible_cells_are_the_cells_in_the_frame() -> None:
    source = sim(drift=0.0, noise=0.0, vignette=0.0, focus_cycle=0.0)
    source.open()
    source.jump(to=(CANVAS[0] - 100, 10))  # across the wrap
    cells = source.visible_cells()
    assert cells and all(0 <= c.x < 320 and 0 <= c.y < 240 for c in cells)
    frame = source.read().astype(np.int32)
    for cell in cells:
        if cell.kind == "rbc":  # the centre of a red cell is pinker than the glass
            x, y = int(cell.x), int(cell.y)
            assert frame[y, x, 2] - frame[y, x, 1] > 15
    assert sim(image=np.zeros((300, 400, 3), np.uint8)).visible_cells(0) == []


MODEL = Path(__file__).resolve().parents[2] / "models" / "detector.onnx"


@pytest.mark.skipif(not MODEL.is_file(), reason="no shipped detector model")
def test_the_shipped_detector_finds_the_cells_of_simulated_fields() -> None:
    from hemoscope.vision.detector import Detector

    detector = Detector(MODEL, threads=1)
    source = SimulatedMicroscope(focus_cycle=0.0)
    source.open()
    expected = found = 0
    for _ in range(6):
        source.jump()
        index = source.frames_served
        detections = detector.detect(source.frame_at(index))
        names = [detections.names[c] for c in detections.classes]
        for cell in source.visible_cells(index):
            r = cell.radius
            inside = r < cell.x < 640 - r and r < cell.y < 480 - r
            if cell.kind == "platelet" or not inside:
                continue
            kind = "wbc" if cell.is_wbc else "rbc"
            expected += 1
            found += any(
                name == kind and x1 < cell.x < x2 and y1 < cell.y < y2
                for (x1, y1, x2, y2), name in zip(detections.boxes, names, strict=True)
            )
    assert expected > 50
    assert found / expected > 0.9
