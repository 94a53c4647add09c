"""The station's Qt-free logic: frames, source runner, review navigation, settings, tally
text, workspace, gallery crops, source texts. None of these tests needs a QApplication."""

from __future__ import annotations

import time
from datetime import datetime

import numpy as np
import pytest
from ui_fakes import FakePipeline, FakeSource, smear

from hemoscope.core import (
    Box,
    Case,
    CaseInfo,
    Cell,
    CellKind,
    Delete,
    Field,
    ManualIncrement,
    ReferenceRange,
    Relabel,
    Tally,
)
from hemoscope.ui.case.memory_backend import MemoryBackend
from hemoscope.ui.case.workspace import CaseWorkspace, TargetWatch, provisional_sample_id
from hemoscope.ui.differential.tally_text import progress_text, summary_text, tally_lines
from hemoscope.ui.live.frames import LatestFrame, RateMeter
from hemoscope.ui.live.source_runner import SourceRunner, SourceState
from hemoscope.ui.live.source_status import SourceBannerText
from hemoscope.ui.review.gallery_model import UNCLASSIFIED, cell_crop, gallery_groups
from hemoscope.ui.review.review_model import cell_at, neighbour, next_flagged, reading_order
from hemoscope.ui.settings.settings_model import StationSettings


def wbc(
    x: float, y: float, cls: str = "neutrophil", review: bool = False, side: float = 40
) -> Cell:
    return Cell.create(Box(x, y, x + side, y + side), CellKind.WBC, auto_class=cls, review=review,
                       probability=0.5 if review else 0.95)  # fmt: skip


# -- frames ----------------------------------------------------------------------------
def test_latest_frame_keeps_only_the_newest() -> None:
    slot = LatestFrame()
    assert slot.get() is None and slot.seq == 0
    a, b = np.zeros((2, 2, 3), np.uint8), np.ones((2, 2, 3), np.uint8)
    slot.put(a, "cam")
    frame = slot.put(b, "cam")
    got = slot.get()
    assert got is frame and got.seq == 2 and got.image is b and got.source == "cam"
    slot.clear()
    assert slot.get() is None and slot.seq == 2


def test_rate_meter_over_a_window() -> None:
    now = [0.0]
    meter = RateMeter(window_s=1.0, clock=lambda: now[0])
    for i in range(11):
        meter.tick(i * 0.1)
    now[0] = 1.0
    assert meter.rate() == pytest.approx(10.0)
    now[0] = 5.0  # stalled: everything left the window
    assert meter.rate() == 0.0


# -- source runner -----------------------------------------------------------------------
def test_runner_reads_loses_and_reconnects() -> None:
    source = FakeSource(fps=200, width=64, height=48)
    runner = SourceRunner(source, retry_s=30.0)
    runner.start()

    def seq() -> int:
        frame = runner.latest()
        return 0 if frame is None else frame.seq

    try:
        _until(lambda: seq() >= 5)
        latest = runner.latest()
        assert latest is runner.latest()  # the same object until a newer frame comes
        assert latest is not None and latest.source == "Fake microscope"
        assert runner.status().state is SourceState.RUNNING
        assert runner.status().info is not None
        source.lose(refuse_opens=1)
        _until(lambda: runner.status().state is SourceState.LOST)
        assert "unplugged" in runner.status().message
        before = seq()
        runner.reconnect()  # refused once ...
        _until(lambda: runner.status().attempts == 1 and not runner.running)
        assert runner.status().state is SourceState.LOST  # still lost, no flicker
        runner.reconnect()  # ... then back
        _until(lambda: runner.status().state is SourceState.RUNNING and seq() > before + 3)
        assert runner.status().attempts == 0
        assert source.closed >= 1
    finally:
        assert runner.stop()
    assert runner.status().state is SourceState.STOPPED
    assert not runner.running


def test_runner_retries_a_source_that_never_opens() -> None:
    source = FakeSource()
    source.refuse_opens = 100
    runner = SourceRunner(source, retry_s=0.01)
    runner.start()
    try:
        _until(lambda: runner.status().attempts >= 3)
        status = runner.status()
        assert status.state in (SourceState.FAILED, SourceState.OPENING)
        _until(lambda: runner.status().state is SourceState.FAILED)
        assert "no camera" in runner.status().message
    finally:
        assert runner.stop()


def _until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


# -- review navigation -------------------------------------------------------------------
def test_click_prefers_white_cells_and_the_smallest_box() -> None:
    big = wbc(0, 0, side=100)
    small = wbc(40, 40, "lymphocyte", side=20)
    rbc = Cell.create(Box(45, 45, 55, 55), CellKind.RBC)
    field = Field.create([big, small, rbc], 200, 200)
    assert cell_at(field, 50, 50) == small
    assert cell_at(field, 10, 10) == big
    assert cell_at(field, 150, 150) is None
    assert cell_at(field, 102, 50, margin=3) == big


def test_arrows_go_to_the_nearest_cell_that_way() -> None:
    centre, right, far_right, below, up_left = (
        wbc(100, 100),
        wbc(200, 105),
        wbc(400, 100),
        wbc(100, 220),
        wbc(20, 20),
    )
    field = Field.create([centre, right, far_right, below, up_left], 500, 300)
    assert neighbour(field, centre.id, "right") == right
    assert neighbour(field, right.id, "right") == far_right
    assert neighbour(field, far_right.id, "right") is None
    assert neighbour(field, centre.id, "down") == below
    assert neighbour(field, centre.id, "left") == up_left
    assert neighbour(field, None, "left") == reading_order(field)[0] == up_left


def test_tab_walks_flagged_cells_across_fields_and_back() -> None:
    a1, a2 = wbc(10, 10, review=True), wbc(100, 10)
    b1, b2 = wbc(10, 10, review=True), wbc(100, 10, review=True)
    fa, fb = Field.create([a1, a2], 200, 100), Field.create([b1, b2], 200, 100)
    case = Case(CaseInfo("S1"), (fa, fb))
    assert next_flagged(case, None, None) == (fa.id, a1.id)
    assert next_flagged(case, fa.id, a1.id) == (fb.id, b1.id)
    assert next_flagged(case, fb.id, b1.id) == (fb.id, b2.id)
    assert next_flagged(case, fb.id, b2.id) == (fa.id, a1.id)  # wraps round
    assert next_flagged(case, fb.id, b2.id, backwards=True) == (fb.id, b1.id)
    assert next_flagged(case, fb.id, b1.id, backwards=True) == (fa.id, a1.id)
    decided = Case(CaseInfo("S2"), (Field.create([a2], 200, 100),))
    assert next_flagged(decided, None, None) is None


# -- settings ------------------------------------------------------------------------------
def test_settings_round_trip_and_bad_values_fall_back() -> None:
    settings = StationSettings(
        keymap={"neutrophil": "n", "lymphocyte": "l"},
        target=200,
        reference=StationSettings().reference.with_range("monocyte", ReferenceRange(2, 10)),
        camera_index=1,
        beep=False,
    )
    data = {k: (str(v) if isinstance(v, int | bool) else v) for k, v in settings.to_dict().items()}
    again, problems = StationSettings.from_dict(data)
    assert again == settings and problems == []
    assert again.taxonomy().by_key("N").id == "neutrophil"  # type: ignore[union-attr]

    damaged, problems = StationSettings.from_dict(
        {"keymap": '{"neutrophil": "2"}', "target": "-5", "beep": "perhaps", "camera_index": "1"}
    )
    assert damaged.keymap == {} and damaged.target == 100 and damaged.beep is True
    assert damaged.camera_index == 1
    assert len(problems) == 3


# -- tally text -----------------------------------------------------------------------------
def _case(*cells: Cell, manual: dict[str, int] | None = None) -> Case:
    case = Case(CaseInfo("S1"), (Field.create(cells, 100, 100),))
    return case.with_manual_counts(manual or {})


def test_tally_lines_show_percent_ci_reference_and_per_100() -> None:
    case = _case(*(wbc(0, 0) for _ in range(16)), *(wbc(0, 0, "lymphocyte") for _ in range(4)),
                 manual={"erythroblast": 2})  # fmt: skip
    settings = StationSettings()
    tally = Tally.from_case(case, settings.taxonomy(), 100, settings.reference)
    lines = {line.class_id: line for line in tally_lines(tally, settings.taxonomy(),
                                                         settings.reference)}  # fmt: skip
    assert lines["neutrophil"].count == "16" and lines["neutrophil"].percent == "80.0 %"
    assert lines["neutrophil"].flag == "H" and lines["neutrophil"].reference == "43–72"
    assert lines["lymphocyte"].ci == "5.7–43.7"
    assert lines["erythroblast"].percent == "10.0 /100 WBC"
    assert "smudge" not in lines  # not counted, not in the differential
    assert progress_text(tally) == "20 / 100 WBC"
    assert summary_text(tally).startswith("NRBC 10.0 /100 WBC")


# -- workspace -------------------------------------------------------------------------------
def test_workspace_creates_the_case_on_first_use_and_watches_the_target(
    memory_backend: MemoryBackend,
) -> None:
    workspace = CaseWorkspace(backend=memory_backend, target=3)
    assert workspace.case is None and workspace.tally().denominator == 0
    watch = TargetWatch()
    field = FakePipeline().analyze(smear(), source="cam")
    command = workspace.add_field(field, smear())
    assert workspace.case is not None and workspace.case.info.sample_id.startswith("Unnamed ")
    assert workspace.field_image(field.id) is not None
    assert watch.update(workspace.tally()) is True  # 3 WBC: reached now
    assert watch.update(workspace.tally()) is False  # still there: no second alert
    bound = workspace.apply(Delete(field.id, field.cells[0].id))
    assert watch.update(workspace.tally()) is False
    workspace.revert(bound)
    assert watch.update(workspace.tally()) is True  # back up to the target
    workspace.revert(command)
    assert workspace.case.fields == ()
    workspace.reapply(command)
    assert len(workspace.case.fields) == 1
    bound = workspace.apply(ManualIncrement("basophil"))
    assert workspace.tally().count("basophil") == 1
    relabel = workspace.apply(Relabel(field.id, field.cells[1].id, "monocyte"))
    assert relabel.is_bound


def test_provisional_sample_id() -> None:
    assert provisional_sample_id(datetime(2026, 1, 2, 3, 4, 5)) == "Unnamed 2026-01-02 03:04:05"


# -- gallery model --------------------------------------------------------------------------
def test_gallery_groups_every_class_and_unclassified_last() -> None:
    loose = Cell.create(Box(0, 0, 10, 10), CellKind.WBC)
    case = _case(wbc(0, 0, "monocyte"), loose, Cell.create(Box(0, 0, 5, 5), CellKind.RBC))
    groups = gallery_groups(case, StationSettings().taxonomy())
    by_id = {g.class_id: g for g in groups}
    assert [e.cell.auto_class for e in by_id["monocyte"].entries] == ["monocyte"]
    assert groups[-1].class_id == UNCLASSIFIED and groups[-1].entries[0].cell == loose
    assert sum(len(g.entries) for g in groups) == 2  # the red cell is not shown


def test_cell_crop_is_square_and_padded_at_the_edge() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    image[:] = (200, 180, 220)
    image[0:20, 0:20] = (90, 30, 60)
    crop = cell_crop(image, Box(0, 0, 20, 20), size=32)
    assert crop.shape == (32, 32, 3)
    assert tuple(crop[16, 16]) == (90, 30, 60)  # the cell, in the middle
    assert tuple(crop[0, 0]) == (200, 180, 220)  # padding: the background colour


# -- source texts -----------------------------------------------------------------------------
def test_source_texts() -> None:
    text = SourceBannerText()
    none = text.describe(None, "", 0)
    assert none.status == "No source" and not none.banner
    still = text.describe(None, "/data/f1.png", 2)
    assert still.status == "Image: f1.png" and not still.banner
