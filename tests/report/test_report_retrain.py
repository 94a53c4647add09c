"""Retraining exports: corrected cells as an ImageFolder of crops, fields in YOLO layout,
both readable by the training code's own readers."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from report_factories import H, W, case_with, field_image, images_of

from hemoscope.core import AddCell, Box, Cell, CellKind, Confirm, Delete, Relabel, UndoHistory
from hemoscope.report import export_crops, export_yolo, square_crop


def test_square_crop_rule_and_edge_repeat() -> None:
    image = field_image(1)
    crop = square_crop(image, Box(20, 30, 40, 40))  # 20 x 10 box -> 40 px square
    assert crop.shape == (40, 40, 3)
    assert np.array_equal(crop, image[15:55, 10:50])  # centred on (30, 35)
    corner = square_crop(image, Box(0, 0, 10, 10))  # half of it lies outside
    assert corner.shape == (20, 20, 3)
    assert np.array_equal(corner[:5, 5], corner[5, 5][None].repeat(5, 0))  # rows repeat
    assert np.array_equal(corner[5, :5], corner[5, 5][None].repeat(5, 0))  # columns repeat
    assert np.array_equal(corner[5:, 5:], image[:15, :15])
    assert square_crop(image, Box(20, 30, 40, 40), 64).shape == (64, 64, 3)
    grey = square_crop(image[:, :, 0], Box(5, 5, 9, 9), 16)
    assert grey.shape == (16, 16)
    with pytest.raises(ValueError):
        square_crop(image, Box(1, 1, 2, 2), 0)


def _corrected_case() -> UndoHistory:
    case = case_with({"neutrophil": 6, "lymphocyte": 4})
    f0 = case.fields[0].id
    history = UndoHistory(case)
    history.do(Relabel(f0, "w0", "band"))  # corrected
    history.do(Relabel(f0, "w6", "monocyte"))  # corrected
    history.do(Confirm(f0, "w1"))  # confirmed only
    history.do(Relabel(f0, "r0-0", "lymphocyte"))  # a red-cell detection was a lymphocyte
    history.do(Relabel(f0, "w2", "platelet"))  # not a white cell: not for the classifier
    history.do(Delete(f0, "w3"))  # a false detection
    history.do(AddCell(f0, Cell("added", Box(100, 40, 130, 70), CellKind.WBC,
                                final_class="basophil")))  # fmt: skip
    return history


def test_imagefolder_of_corrected_cells(tmp_path: Path) -> None:
    case = _corrected_case().case
    images = images_of(case)
    result = export_crops(case, images.get, tmp_path / "crops")
    assert result.per_class == {"band": 1, "monocyte": 1, "lymphocyte": 1, "basophil": 1}
    assert result.skipped_fields == []
    (band,) = (tmp_path / "crops" / "band").iterdir()
    assert band.name == "S-42_f0_w0.png"
    expected = square_crop(images["f0"], case.fields[0].get("w0").box)  # type: ignore[union-attr]
    assert np.array_equal(cv2.imread(str(band)), expected)
    with_confirmed = export_crops(case, images.get, tmp_path / "all", include_confirmed=True,
                                  size=48)  # fmt: skip
    assert with_confirmed.per_class["neutrophil"] == 1 and with_confirmed.crops == 5
    assert cv2.imread(str(next((tmp_path / "all" / "neutrophil").iterdir()))).shape == (48, 48, 3)


def test_imagefolder_is_read_by_the_training_reader(tmp_path: Path) -> None:
    datasets = pytest.importorskip("hemoscope.vision.datasets")
    case = _corrected_case().case
    export_crops(case, images_of(case).get, tmp_path, include_confirmed=True)
    classes = ("neutrophil", "lymphocyte", "monocyte", "basophil")
    samples, unmatched = datasets.list_samples(tmp_path, classes)
    assert unmatched == []  # a band counts as a neutrophil for a 4-class model
    assert sorted(classes[s.label] for s in samples) == [
        "basophil",
        "lymphocyte",
        "monocyte",
        "neutrophil",
        "neutrophil",
    ]


def test_custom_crop_function_and_missing_images(tmp_path: Path) -> None:
    case = _corrected_case().case
    calls: list[tuple[Box, int | None]] = []

    def crop(image: np.ndarray, box: Box, size: int | None) -> np.ndarray:
        calls.append((box, size))
        return np.zeros((8, 8, 3), np.uint8)

    result = export_crops(case, lambda fid: None, tmp_path / "none", crop=crop)
    assert result.crops == 0 and result.skipped_fields == ["f0"] and calls == []
    assert export_crops(case, images_of(case).get, tmp_path / "c", crop=crop, size=32).crops == 4
    assert len(calls) == 4 and {size for _, size in calls} == {32}


def test_yolo_layout_read_back_by_the_training_reader(tmp_path: Path) -> None:
    case = _corrected_case().case
    result = export_yolo(case, images_of(case).get, tmp_path)
    assert result.fields == 1 and result.boxes == sum(len(f.cells) for f in case.fields)
    assert (tmp_path / "data.yaml").read_text().count("wbc") == 1
    label = (tmp_path / "labels" / "S-42_f0.txt").read_text().splitlines()
    first = label[0].split()
    assert first == ["0", f"{11 / W:.6f}", f"{17 / H:.6f}", f"{12 / W:.6f}", f"{14 / H:.6f}"]
    datasets = pytest.importorskip("hemoscope.vision.datasets")
    ((path, image, boxes, classes),) = list(datasets.iter_yolo(tmp_path, None, 3))
    fld = case.fields[0]
    assert image.shape == (H, W, 3) and path.name == "S-42_f0.png"
    kinds = {"wbc": 0, "rbc": 1, "platelet": 2}
    expected_classes = []
    for cell in fld.cells:  # relabelled kinds: r0-0 is a WBC now, w2 a platelet
        kind = {"r0-0": "wbc", "w2": "platelet"}.get(cell.id, cell.kind.value)
        expected_classes.append(kinds[kind])
    assert classes.tolist() == expected_classes
    assert np.allclose(boxes, [c.box.as_tuple() for c in fld.cells], atol=1e-3)
    assert "w3" not in {c.id for c in fld.cells}  # the deleted detection is not labelled
