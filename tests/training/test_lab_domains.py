"""Other laboratories' unlabelled white cells for domain-adversarial training."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from hemoscope.core import CellKind
from hemoscope.training.domain_cells import SAVED_SIDE, read_sources
from hemoscope.training.lab_domains import write_lab
from hemoscope.vision.cross_lab import parse_set
from hemoscope.vision.datasets import load_rgb


def _image(path: Path, shape: tuple[int, int], colour: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((*shape, 3), 230, np.uint8)
    cv2.circle(img, (shape[1] // 2, shape[0] // 2), min(shape) // 3, colour, -1)
    cv2.imwrite(str(path), img)


def test_single_cell_images_are_written_unlabelled_framed_as_pbc(tmp_path: Path) -> None:
    src = tmp_path / "lab"
    _image(src / "neutrophil" / "a.bmp", (120, 120), (120, 40, 90))
    _image(src / "lymphocyte" / "b.png", (90, 110), (150, 60, 60))
    (src / "lymphocyte" / "broken.jpg").write_bytes(b"not an image")
    n = write_lab("lab", "cells", src, tmp_path / "out", pipeline=None)
    written = sorted((tmp_path / "out" / "lab").glob("*.png"))
    assert n == 2 and [p.name for p in written] == [
        "lymphocyte_b.png",
        "neutrophil_a.bmp".replace(".bmp", ".png"),
    ]
    for p in written:
        img = load_rgb(p)
        assert img.shape == (SAVED_SIDE, SAVED_SIDE, 3)
        # The cell stays in the middle, smaller than the frame (PBC's framing).
        centre = img[SAVED_SIDE // 2, SAVED_SIDE // 2].astype(int)
        assert abs(int(centre.sum()) - 3 * 230) > 60
    # One folder per laboratory, no class folders: the classes are never passed on.
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["lab"]
    # Where the cells came from, for the model card (`export_classifier.domain_entry`).
    (source,) = read_sources(tmp_path / "out").values()
    assert str(src) in source and "class folders not read" in source


def test_fields_give_every_whole_white_cell_and_skip_cells_cut_by_the_edge(tmp_path: Path) -> None:
    src = tmp_path / "fields" / "eosinophil"
    _image(src / "f1.jpg", (160, 200), (60, 20, 140))
    box = lambda x1, y1, x2, y2: SimpleNamespace(as_tuple=lambda: (x1, y1, x2, y2))  # noqa: E731
    cells = [
        SimpleNamespace(kind=CellKind.WBC, box=box(70.0, 50.0, 130.0, 110.0)),
        SimpleNamespace(kind=CellKind.WBC, box=box(0.0, 10.0, 30.0, 40.0)),  # cut by the edge
        SimpleNamespace(kind=CellKind.PLATELET, box=box(150.0, 120.0, 158.0, 128.0)),
    ] + [
        SimpleNamespace(kind=CellKind.RBC, box=box(10.0 + 20 * i, 120.0, 28.0 + 20 * i, 138.0))
        for i in range(5)
    ]
    calls: list[str] = []

    def analyze(rgb: np.ndarray, channels: str, source: str) -> SimpleNamespace:
        calls.append(source)
        return SimpleNamespace(cells=cells)

    n = write_lab(
        "other", "fields", tmp_path / "fields", tmp_path / "out", SimpleNamespace(analyze=analyze)
    )
    assert n == 1 and calls == ["f1.jpg"]
    (only,) = (tmp_path / "out" / "other").glob("*.png")
    assert only.name == "eosinophil_f1_0.png"
    img = load_rgb(only)
    assert img.shape == (SAVED_SIDE, SAVED_SIDE, 3)
    assert img[SAVED_SIDE // 2, SAVED_SIDE // 2].sum() < 3 * 150  # the cell at the centre


@pytest.mark.parametrize("text", ["jiangxi", "x=crops:/a", "=cells:/a", "x=cells:"])
def test_a_malformed_lab_is_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(SystemExit, match="NAME=cells:FOLDER"):
        parse_set(text, "--lab")
    assert parse_set("b=fields:/d", "--lab") == ("b", "fields", Path("/d"))
