"""``hemoscope analyze`` counts as the station counts: a white cell seen in an earlier
image of the run (overlapping fields) or cut by the image's edge is listed but not
counted; ``--count-all`` counts every white cell found."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from hemoscope.commands.analyze_run import Options, run
from hemoscope.core import DEFAULT_TAXONOMY, Box, Cell, CellKind, Field


class VioletCells:
    """A stand-in for the models: the white cells are the violet discs of the generated
    slide, found by colour (RGB input), boxed around the disc, all lymphocytes."""

    taxonomy = DEFAULT_TAXONOMY
    review_threshold = 0.5

    def analyze(self, image: np.ndarray, channels: str = "rgb", *, source: str = "") -> Field:
        r, g, b = (image[..., i].astype(np.int16) for i in range(3))
        mask = ((g < 90) & (b > g + 40) & (r < 160)).astype(np.uint8)
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        h, w = image.shape[:2]
        cells = [
            Cell.create(
                Box(max(0, x - 4), max(0, y - 4), min(w, x + bw + 4), min(h, y + bh + 4)),
                CellKind.WBC,
                auto_class="lymphocyte",
                probability=0.95,
            )
            for x, y, bw, bh, area in stats[1:n]
            if area > 400
        ]
        return Field.create(cells, w, h, source)

    def model_cards(self) -> dict[str, Any]:
        return {}


def slide(seed: int, width: int) -> np.ndarray:
    """A BGR smear: pale background, red cells, violet white cells away from the rows'
    edges (so that only the cut of a field makes them edge cells)."""
    rng = np.random.default_rng(seed)
    img = np.full((480, width, 3), (225, 215, 235), np.uint8)
    for _ in range(width * 480 // 5000):
        c = (int(rng.integers(0, width)), int(rng.integers(0, 480)))
        cv2.circle(img, c, int(rng.integers(22, 32)), (170, 150, 215), -1)
    for _ in range(width // 160):
        centre = (int(rng.integers(60, width - 60)), int(rng.integers(80, 400)))
        cv2.circle(img, centre, 26, (150, 50, 100), -1)
    return img


def analyze(folder: Path, out: Path, **options: Any) -> dict[str, Any]:
    code = run(
        Options(paths=[folder], outputs={"json": out}, progress=False, **options),
        pipeline=VioletCells(),  # type: ignore[arg-type]
    )
    assert code == 0
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


def white(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(Path(i["file"]).name, c) for i in doc["images"] for c in i["cells"]]


def test_cells_seen_before_or_cut_by_the_edge_are_listed_not_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "fields"
    folder.mkdir()
    big = slide(7, 1500)
    cv2.imwrite(str(folder / "a.png"), big[:, :640])
    cv2.imwrite(str(folder / "b.png"), big[:, 300:940])  # 340 px in common with a
    cv2.imwrite(str(folder / "c.png"), slide(99, 640))  # elsewhere on the slide

    doc = analyze(folder, tmp_path / "a.json")
    cells = white(doc)
    by_file = {f: [c for g, c in cells if g == f] for f in ("a.png", "b.png", "c.png")}
    repeated = [c for c in by_file["b.png"] if c["uncounted"] == "already counted"]
    # b's cells in the part a showed whole were counted in a
    a_whole = [c for c in by_file["a.png"] if not c["uncounted"]]
    expected = [c for c in a_whole if (c["box"][0] + c["box"][2]) / 2 - 300 > 30]
    assert repeated and len(repeated) == len(expected)
    assert not any(c["uncounted"] == "already counted" for c in by_file["a.png"])
    assert not any(c["uncounted"] == "already counted" for c in by_file["c.png"])
    for _, c in cells:
        x1, y1, x2, y2 = c["box"]
        at_edge = min(x1, y1) <= 2.0 or x2 >= 638.0 or y2 >= 478.0
        if c["uncounted"] == "cut by the edge":
            assert at_edge
        elif not c["uncounted"]:
            assert not at_edge
    counted = sum(not c["uncounted"] for _, c in cells)
    assert doc["differential"]["total"] == counted < len(cells)
    out = capsys.readouterr().out
    assert f"{counted} white cells counted" in out and "found but not counted" in out

    every = analyze(folder, tmp_path / "all.json", count_all=True)
    assert len(white(every)) == len(cells) and not any(c["uncounted"] for _, c in white(every))
    assert every["differential"]["total"] == len(cells)
    assert "not counted" not in capsys.readouterr().out


def test_unrelated_fields_share_no_cell(tmp_path: Path) -> None:
    folder = tmp_path / "fields"
    folder.mkdir()
    for i in range(5):
        cv2.imwrite(str(folder / f"f{i}.png"), slide(300 + i, 640))
    cells = white(analyze(folder, tmp_path / "a.json"))
    assert cells and not any(c["uncounted"] == "already counted" for _, c in cells)
