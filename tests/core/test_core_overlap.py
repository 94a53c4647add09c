"""No white cell counted twice: registration of overlapping fields and the marks it gives
(`hemoscope.core.overlap`), on simulated fields with known overlap and on a real field
(txl-pbc, skipped without ../shared/data) shifted by part of its width."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hemoscope.capture.image_files import read_image
from hemoscope.capture.simulator import SimulatedMicroscope
from hemoscope.core import Box, Case, CaseInfo, Cell, CellKind, Field, Tally
from hemoscope.core.corrections import CorrectionError, CountCell
from hemoscope.core.overlap import (
    UNCOUNTED_EDGE,
    UNCOUNTED_REPEAT,
    cut_by_edge,
    mark_field,
    register,
    thumbnail,
)

VAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "txl-pbc" / "images" / "val"
SIZE = (640, 480)


def simulator() -> SimulatedMicroscope:
    sim = SimulatedMicroscope(canvas=(2048, 1536), seed=2, drift=0, focus_cycle=0)
    sim.open()
    return sim


def sim_field(sim: SimulatedMicroscope, index: int) -> tuple[Field, dict[str, tuple[int, int]]]:
    """The simulated field's white cells (boxes clipped to the frame, as a detector gives
    them) and each one's place on the smear (its identity)."""
    x0, y0 = sim.position(index)
    cells, where = [], {}
    for c in sim.visible_cells(index):
        if not c.is_wbc:
            continue
        box = Box(
            max(0.0, c.x - c.radius),
            max(0.0, c.y - c.radius),
            min(SIZE[0] - 1.0, c.x + c.radius),
            min(SIZE[1] - 1.0, c.y + c.radius),
        )
        cell = Cell.create(box, CellKind.WBC, auto_class="lymphocyte", probability=0.9)
        cells.append(cell)
        where[cell.id] = (round(c.x + x0) % 2048, round(c.y + y0) % 1536)
    return Field.create(cells, *SIZE), where


def test_simulated_fields_with_known_overlap_count_each_cell_once() -> None:
    sim = simulator()
    counted: dict[tuple[int, int], int] = {}
    earlier: list[tuple[Field, object]] = []
    for step, (dx, dy) in enumerate([(0, 0), (320, 0), (0, 200), (-250, 120), (300, 0)]):
        sim.move_stage(dx, dy)
        image = sim.frame_at(step)
        field, where = sim_field(sim, step)
        thumb = thumbnail(image)
        marked = mark_field(field, thumb, earlier)  # type: ignore[arg-type]
        earlier.append((marked, thumb))
        for cell in marked.cells:
            place = where[cell.id]
            if cell.uncounted == UNCOUNTED_REPEAT:
                assert counted.get(place, 0) == 1, f"step {step}: {place} was not counted"
            elif not cell.uncounted:
                assert counted.get(place, 0) == 0, f"step {step}: {place} counted again"
                counted[place] = 1
            else:
                assert cell.uncounted == UNCOUNTED_EDGE
                assert cut_by_edge(cell, *SIZE)
    fields = [f for f, _ in earlier]
    assert sum(c.uncounted == UNCOUNTED_REPEAT for f in fields for c in f.cells) >= 3
    tally = Tally.from_case(Case(CaseInfo("S"), tuple(fields)))
    assert tally.denominator == len(counted) >= 3


def test_registration_finds_the_stage_move_and_refuses_other_areas() -> None:
    sim = simulator()
    a = thumbnail(sim.frame_at(0))
    sim.move_stage(200, -90)
    shift = register(a, thumbnail(sim.frame_at(1)))
    assert shift is not None and abs(shift.dx - 200) <= 4 and abs(shift.dy + 90) <= 4
    sim.move_stage(900, 700)  # far away: nothing in common with the first field
    assert register(a, thumbnail(sim.frame_at(2))) is None


def test_each_picture_is_transformed_once_and_registers_as_before() -> None:
    """A thumbnail carries its spectrum, so a field registered against the 12 before it
    is transformed once; registering without it (a thumbnail made elsewhere) finds the
    same shift."""
    sim = simulator()
    a = thumbnail(sim.frame_at(0))
    sim.move_stage(140, 60)
    b = thumbnail(sim.frame_at(1))
    h, w = a.pixels.shape
    assert a.spectrum is not None and a.spectrum.shape == (h, w // 2 + 1)
    bare_a, bare_b = (replace(t, spectrum=None) for t in (a, b))
    cached, bare = register(a, b), register(bare_a, bare_b)
    assert cached is not None and cached == bare
    assert abs(cached.dx - 140) <= 4 and abs(cached.dy - 60) <= 4


def _yolo_wbc(label: Path, width: int, height: int) -> list[tuple[float, float, float, float]]:
    boxes = []
    for line in label.read_text().splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] == "0":
            cx, cy, w, h = (float(v) for v in parts[1:])
            boxes.append(
                ((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width,
                 (cy + h / 2) * height)
            )  # fmt: skip
    return boxes


def _crop_field(boxes: list[tuple[float, float, float, float]], x0: int, width: int,
                height: int) -> Field:  # fmt: skip
    cells = []
    for x1, y1, x2, y2 in boxes:
        a, b = max(0.0, x1 - x0), min(width - 1.0, x2 - x0)
        if b - a > 4:
            box = Box(a, max(0.0, y1), b, min(height - 1.0, y2))
            cells.append(Cell.create(box, CellKind.WBC, auto_class="neutrophil"))
    return Field.create(cells, width, height)


def test_a_real_field_shifted_by_part_of_its_width() -> None:
    if not VAL.is_dir():
        pytest.skip("../shared/data is absent")
    labels = VAL.parent.parent / "labels" / "val"
    tried = 0
    for path in sorted(VAL.glob("*.jpg"))[:40]:
        image = read_image(path)
        h, w = image.shape[:2]
        boxes = _yolo_wbc(labels / f"{path.stem}.txt", w, h)
        shift = w // 3
        # a WBC wholly inside the overlap of the two crops
        if not any(x1 > shift + 3 and x2 < w - shift - 3 for x1, _, x2, _ in boxes):
            continue
        first = _crop_field(boxes, 0, w - shift, h)
        second = _crop_field(boxes, shift, w - shift, h)
        a, b = thumbnail(image[:, : w - shift]), thumbnail(image[:, shift:])
        registration = register(a, b)
        assert registration is not None and abs(registration.dx - shift) <= 8
        first = mark_field(first, a, [])
        second = mark_field(second, b, [(first, a)])
        repeated = [c for c in second.cells if c.uncounted == UNCOUNTED_REPEAT]
        assert repeated, path.name
        for cell in repeated:  # each lies where a cell of the first field was counted
            x, y = cell.box.centre
            assert any(
                abs(o.box.centre[0] - (x + shift)) < 20 and abs(o.box.centre[1] - y) < 20
                for o in first.cells
                if o.uncounted != UNCOUNTED_EDGE
            )
        tally = Tally.from_case(Case(CaseInfo("R"), (first, second)))
        whole = sum(1 for x1, _, x2, _ in boxes if x1 > 2 and x2 < w - 3)
        assert tally.denominator <= whole  # never more than the cells really there
        tried += 1
        if tried == 3:
            break
    assert tried, "no validation image with a white cell in the overlap"


def test_the_edge_rule_and_what_stays_out_of_the_tally() -> None:
    image = np.random.default_rng(0).integers(0, 255, (100, 160, 3), dtype=np.uint8)
    inside = Cell.create(Box(40, 30, 70, 60), CellKind.WBC, auto_class="monocyte", review=True)
    cut = Cell.create(Box(0, 10, 25, 40), CellKind.WBC, auto_class="neutrophil")
    rbc = Cell.create(Box(140, 80, 159, 99), CellKind.RBC)
    drawn = Cell.create(Box(130, 0, 159, 20), CellKind.WBC, final_class="basophil", manual=True)
    field = mark_field(Field.create([inside, cut, rbc, drawn], 160, 100), thumbnail(image), [])
    marks = [c.uncounted for c in field.cells]
    assert marks == ["", UNCOUNTED_EDGE, "", ""]  # hand-drawn cells always count
    tally = Tally.from_case(Case(CaseInfo("E"), (field,)))
    assert tally.denominator == 2 and tally.count("neutrophil") == 0
    assert tally.pending_review == 1
    edge_flagged = Cell.create(Box(0, 0, 9, 9), CellKind.WBC, review=True, uncounted="x")
    assert not edge_flagged.pending_review  # out of the tally: nothing to decide


def test_the_technician_can_overrule_a_mark() -> None:
    marked = Cell.create(Box(10, 10, 40, 40), CellKind.WBC, auto_class="monocyte",
                         uncounted=UNCOUNTED_REPEAT)  # fmt: skip
    case = Case(CaseInfo("O"), (Field.create([marked], 100, 100),))
    command = CountCell(case.fields[0].id, marked.id).bind(case)
    counted = command.apply(case)
    assert Tally.from_case(counted).count("monocyte") == 1
    assert command.revert(counted) == case
    entry = command.audit()
    assert entry.action == "count" and "'already counted': the mark overruled" in entry.detail
    with pytest.raises(CorrectionError, match="counted already"):
        CountCell(case.fields[0].id, marked.id).apply(counted)
