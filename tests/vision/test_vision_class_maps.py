"""Class activation maps: the overlay's shape and placement, the classifier's maps."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from hemoscope.core import Box, Cell, CellKind, Field
from hemoscope.vision.class_maps import (
    CellMaps,
    Placement,
    cell_maps,
    field_rbc,
    heat_overlay,
)
from hemoscope.vision.classifier import Classifier
from hemoscope.vision.crops import cut_crop
from hemoscope.vision.model_card import models_dir

CLASSES = ("neutrophil", "lymphocyte", "monocyte")


def _corner_map(h: int = 4, w: int = 4) -> np.ndarray:
    cam = np.zeros((h, w), np.float32)
    cam[0, 0] = 3.0  # the evidence in the top-left corner
    cam[0, 1] = cam[1, 0] = 1.0
    cam[h - 1, w - 1] = -2.0  # evidence against, never shown
    return cam


def test_overlay_is_the_crops_size_and_hottest_where_the_map_peaks() -> None:
    rgba = heat_overlay(_corner_map(), 128)
    assert rgba.shape == (128, 128, 4) and rgba.dtype == np.uint8
    alpha = rgba[..., 3].astype(int)
    y, x = np.unravel_index(np.argmax(alpha), alpha.shape)
    assert x < 32 and y < 32  # the hottest pixel lies in the map's top-left cell
    assert alpha[:32, :32].mean() > 4 * alpha[64:, 64:].mean()
    assert alpha[96:, 96:].max() == 0  # negative evidence: transparent
    assert alpha.max() == round(255 * 0.6)
    r, _g, b = (int(v) for v in rgba[y, x, :3])
    assert r > 100 and r > b  # the hottest part red, not blue


def test_overlay_without_positive_evidence_is_transparent() -> None:
    assert heat_overlay(-np.ones((4, 4)), 40)[..., 3].max() == 0
    assert heat_overlay(np.full((4, 4), np.nan), 40)[..., 3].max() == 0
    with pytest.raises(ValueError):
        heat_overlay(np.ones((2, 4, 4)), 40)


def test_placement_is_the_square_the_crop_samples() -> None:
    # An image whose pixel values are their column and row: the crop's corner pixels say
    # which image pixels they sample; the placement must put them there.
    h = w = 400
    xs, ys = np.meshgrid(np.arange(w), np.arange(h))
    image = np.dstack([xs % 256, ys % 256, np.zeros_like(xs)]).astype(np.uint8)
    cx, cy, side, size = 180.0, 150.0, 128.0, 128
    crop = cut_crop(image, cx, cy, side, size)
    place = Placement.of_crop(cx, cy, side, size)
    assert (place.x, place.y, place.side) == (cx - 64, cy - 64, 128)
    for j, i in ((0, 0), (10, 100), (127, 127)):
        px, py = place.to_image(i + 0.5, j + 0.5, size)  # the crop pixel's centre
        assert crop[j, i, 0] == int(px) and crop[j, i, 1] == int(py)
    # a crop twice as large as its output: each output pixel covers two image pixels
    half = Placement.of_crop(cx, cy, 256.0, 128)
    assert half.side == 256 and half.to_image(128, 128, 128)[0] == pytest.approx(
        cx + 128 - 0.5, abs=1e-9
    )


class _FakeClassifier:
    """Maps peaking in each crop's top-left corner, the second class most probable."""

    input_size = 64
    crop_scale = 2.0

    def __init__(self) -> None:
        self.calls: list[tuple[int, ...]] = []

    def class_maps(self, crops: Any) -> np.ndarray:
        self.calls.append(np.asarray(crops).shape)
        maps = np.zeros((len(crops), len(CLASSES), 4, 4), np.float32)
        maps[:, :, 0, 0] = 1.0
        return maps

    def classify_crops(self, crops: Any) -> Any:
        probs = np.tile([0.2, 0.7, 0.1], (len(crops), 1))
        return type("C", (), {"probabilities": probs})()


def test_cell_maps_place_each_overlay_over_its_cells_crop() -> None:
    image = np.full((300, 400, 3), 200, np.uint8)
    boxes = [Box(100, 100, 140, 130), Box(250, 50, 290, 90)]
    fake = _FakeClassifier()
    result = cell_maps(fake, image, boxes, CLASSES, rbc=None)
    assert len(result) == 2 and fake.calls == [(2, 64, 64, 3)]
    first = result[0]
    # the crop rule without the red-cell scale: 2 x the longer side (40) round the centre
    assert first.placement.side == pytest.approx(80.0)
    assert first.placement.x == pytest.approx(120 - 40 + 0.5 * (1 - 80 / 64))
    assert first.crop.shape == (64, 64, 3)
    rgba = first.overlay("lymphocyte")
    assert rgba.shape == (64, 64, 4)
    y, x = np.unravel_index(np.argmax(rgba[..., 3]), rgba.shape[:2])
    hot_x, hot_y = first.placement.to_image(x + 0.5, y + 0.5, 64)
    assert 80 <= hot_x < 100 and 75 <= hot_y < 95  # the top-left map cell (20 px)
    assert first.ranked("neutrophil") == ("neutrophil", "lymphocyte")
    assert first.ranked("blast") == ("lymphocyte", "neutrophil")  # no map of a blast
    assert first.probability("lymphocyte") == pytest.approx(0.7)
    blended = first.blended("lymphocyte")
    assert blended.shape == (64, 64, 3)
    assert not np.array_equal(blended[:8, :8], first.crop[:8, :8])  # hot corner tinted
    assert np.array_equal(blended[40:, 40:], first.crop[40:, 40:])  # cold part untouched


def test_field_rbc_is_the_median_of_whole_red_cells() -> None:
    cells = [Cell.create(Box(x, 50, x + d, 50 + d), CellKind.RBC) for x, d in
             ((10, 30), (60, 32), (110, 34), (160, 80))]  # fmt: skip
    cells.append(Cell.create(Box(200, 100, 260, 160), CellKind.WBC))
    assert field_rbc(Field.create(cells, 400, 300)) == pytest.approx(33.0)
    assert field_rbc(Field.create(cells[:2], 400, 300)) is None


def _run_outputs(classifier: Classifier) -> list[list[str]]:
    asked: list[list[str]] = []
    real = classifier.session

    class Spy:
        def run(self, names: list[str], feeds: dict[str, Any]) -> Any:
            asked.append(list(names))
            return real.run(names, feeds)

    classifier.session = Spy()  # type: ignore[assignment]
    return asked


def test_tiny_classifier_maps_on_demand(model_paths: tuple[Path, Path]) -> None:
    classifier = Classifier(model_paths[1], threads=1, batch_size=2)
    rng = np.random.default_rng(3)
    size = classifier.input_size
    crops = rng.integers(0, 256, (3, size, size, 3), dtype=np.uint8)
    before = classifier.classify_crops(crops)
    asked = _run_outputs(classifier)
    again = classifier.classify_crops(crops)
    assert all("cam" not in names for names in asked)  # classification never asks for maps
    np.testing.assert_allclose(again.probabilities, before.probabilities)
    maps = classifier.class_maps(crops)
    assert asked[-1] == ["cam"]
    assert maps.dtype == np.float32 and maps.ndim == 4
    assert maps.shape[:2] == (3, len(classifier.classes)) and maps.shape[2] >= 1
    assert np.isfinite(maps).all() and maps.std() > 0
    one = classifier.class_maps(crops[1:2])  # batching changes nothing
    np.testing.assert_allclose(one[0], maps[1], rtol=1e-4, atol=1e-5)
    assert classifier.class_maps(crops[:0]).shape[:2] == (0, len(classifier.classes))
    with pytest.raises(ValueError):
        classifier.class_maps(crops[:, :10])


SHIPPED = models_dir() / "classifier.onnx"
PBC = Path(__file__).resolve().parents[3] / "shared" / "data" / "pbc"


@pytest.mark.skipif(not SHIPPED.is_file(), reason="the shipped classifier is absent")
def test_shipped_classifier_maps_point_at_the_cell() -> None:
    classifier = Classifier(threads=1)
    images = sorted(PBC.glob("*/*.jpg"))[:1] if PBC.is_dir() else []
    if images:
        image = cv2.imread(str(images[0]))
    else:  # a purple disc on a pale background
        image = np.full((360, 363, 3), (225, 215, 235), np.uint8)
        cv2.circle(image, (181, 180), 60, (150, 60, 110), -1)
    crop = classifier.crop_whole_image(image)
    t0 = time.perf_counter()
    maps = classifier.class_maps(crop[None])
    took = time.perf_counter() - t0
    assert maps.shape == (1, 8, 4, 4)
    best = int(np.argmax(classifier.classify_crops(crop[None]).probabilities[0]))
    cmaps = CellMaps(maps[0], classifier.classes, np.eye(8)[best], Placement(0, 0, 128), crop)
    rgba = cmaps.overlay(classifier.classes[best])
    assert rgba.shape == (128, 128, 4) and rgba[..., 3].max() > 0
    # a PBC cell sits in the middle of its image: the evidence for its class too
    alpha = rgba[..., 3].astype(float)
    assert alpha[32:96, 32:96].mean() > alpha.mean()
    assert took < 2.0
