"""Augmentation, targets, views, split and ONNX parity of the model definitions."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from hemoscope.training.augment import PhotometricConfig, photometric  # noqa: E402
from hemoscope.training.classifier_model import CellClassifier, ClassifierExport  # noqa: E402
from hemoscope.training.detector_model import CellDetector, DetectorExport  # noqa: E402
from hemoscope.training.pbc_data import stratified_split  # noqa: E402
from hemoscope.training.train_classifier import tight_view  # noqa: E402
from hemoscope.training.yolo_data import FieldSample, make_targets, random_view  # noqa: E402
from hemoscope.vision.datasets import Sample  # noqa: E402
from hemoscope.vision.single_cell import MAX_CELL_SHARE  # noqa: E402


def test_photometric_is_seeded_and_in_range() -> None:
    x = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    a = photometric(x, torch.Generator().manual_seed(5), PhotometricConfig())
    b = photometric(x, torch.Generator().manual_seed(5), PhotometricConfig())
    c = photometric(x, torch.Generator().manual_seed(6), PhotometricConfig())
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0


def test_targets_peak_at_object_centres() -> None:
    boxes = np.array([[8, 8, 24, 24], [40, 0, 48, 8]], np.float32)
    t = make_targets(boxes, np.array([0, 2]), 16, 16, 4, 3)
    assert t["heat"][0, 4, 4] == 1.0 and t["heat"][2, 1, 11] == 1.0
    assert t["mask"].sum() == 2
    np.testing.assert_allclose(np.exp(t["size"][:, 4, 4]), [16, 16], rtol=1e-5)
    np.testing.assert_allclose(t["offset"][:, 1, 11], [0.0, 0.0])


@pytest.mark.parametrize("seed", range(6))
def test_random_view_moves_boxes_with_pixels(seed: int) -> None:
    img = np.zeros((200, 300, 3), np.uint8)
    img[50:90, 120:180] = 255
    sample = FieldSample(Path("x"), img, np.array([[120, 50, 180, 90]], np.float32), np.array([0]))
    view, boxes, _ = random_view(sample, np.random.default_rng(seed), 256, 320, (0.9, 1.1))
    ys, xs = np.nonzero(view[:, :, 0] > 200)
    if len(boxes) == 0:
        return  # cropped away
    x1, y1, x2, y2 = boxes[0]
    assert abs(xs.min() - x1) <= 2 and abs(xs.max() + 1 - x2) <= 2
    assert abs(ys.min() - y1) <= 2 and abs(ys.max() + 1 - y2) <= 2


def test_cells_cut_by_the_view_are_kept_when_visible_enough() -> None:
    img = np.zeros((400, 400, 3), np.uint8)
    box = np.array([[0, 100, 100, 200]], np.float32)  # a cell at the image's left edge
    sample = FieldSample(Path("x"), img, box, np.array([0]))
    kept = {0.0: 0, 0.25: 0, 0.9: 0}
    for seed in range(40):  # views that cut the cell to various shares
        for floor in kept:
            _, boxes, _ = random_view(
                sample, np.random.default_rng(seed), 128, 400, (0.9, 1.1), min_visible=floor
            )
            kept[floor] += len(boxes)
    assert kept[0.0] >= kept[0.25] >= kept[0.9] and kept[0.0] > kept[0.9]


def test_split_is_stratified_fixed_and_order_independent() -> None:
    samples = [Sample(Path(f"c{label}/img{i}.jpg"), label) for label in range(3) for i in range(40)]
    train, val = stratified_split(samples, 0.25, seed=7)
    _, val2 = stratified_split(list(reversed(samples)), 0.25, seed=7)
    assert {s.path for s in val} == {s.path for s in val2}
    assert [sum(s.label == k for s in val) for k in range(3)] == [10, 10, 10]
    assert len(train) + len(val) == len(samples)
    _, val3 = stratified_split(samples, 0.25, seed=8)
    assert {s.path for s in val} != {s.path for s in val3}


def _onnx(model: torch.nn.Module, x: torch.Tensor, outputs: list[str]) -> bytes:
    f = io.BytesIO()
    torch.onnx.export(
        model, (x,), f, input_names=["image"], output_names=outputs, opset_version=17, dynamo=False
    )
    return f.getvalue()


def test_classifier_onnx_matches_torch() -> None:
    torch.manual_seed(0)
    model = ClassifierExport(CellClassifier(8)).eval()
    x = torch.rand(2, 3, 128, 128)
    sess = ort.InferenceSession(
        _onnx(model, x, ["logits", "embedding", "cam"]), providers=["CPUExecutionProvider"]
    )
    with torch.no_grad():
        ref = model(x)
    for a, b in zip(ref, sess.run(None, {"image": x.numpy()}), strict=True):
        np.testing.assert_allclose(a.numpy(), b, atol=1e-4)


def test_detector_onnx_matches_torch() -> None:
    torch.manual_seed(0)
    model = DetectorExport(CellDetector()).eval()
    x = torch.rand(1, 3, 128, 160)
    sess = ort.InferenceSession(
        _onnx(model, x, ["heat", "size", "offset"]), providers=["CPUExecutionProvider"]
    )
    with torch.no_grad():
        ref = model(x)
    for a, b in zip(ref, sess.run(None, {"image": x.numpy()}), strict=True):
        np.testing.assert_allclose(a.numpy(), b, atol=1e-4)


def test_average_weights_refuses_what_is_not_one_model() -> None:
    from hemoscope.training.soup import average_weights

    a = {"w": torch.ones(2), "steps": torch.tensor(5)}
    b = {"w": torch.zeros(2), "steps": torch.tensor(9)}
    avg = average_weights([a, b], [0.75, 0.25])
    assert torch.allclose(avg["w"], torch.full((2,), 0.75))
    assert int(avg["steps"]) == 5  # integer buffers: the first run's
    with pytest.raises(ValueError, match="sum to 1"):
        average_weights([a, b], [0.5, 0.6])
    with pytest.raises(ValueError, match="not the same model"):
        average_weights([a, {"v": torch.ones(2), "steps": torch.tensor(1)}], [0.5, 0.5])
    with pytest.raises(ValueError, match="two or more"):
        average_weights([a], [1.0])


@pytest.mark.parametrize("seed", range(20))
def test_tight_views_cut_around_the_cell_and_frame_it_as_run_time_does(seed: int) -> None:
    img = np.zeros((218, 216, 3), np.uint8)
    img[108, 108] = 255  # the image's centre, where PBC puts the cell
    cell = 0.39 * 216
    rng = np.random.default_rng(seed)
    cut, cx, cy, side = tight_view(img, 108.0, 108.0, 2 * cell, cell, rng, (0.4, 0.8))
    assert cut.shape[0] == cut.shape[1] and 0.4 * 216 - 1 <= cut.shape[0] <= 0.8 * 216 + 1
    assert cut[round(cy), round(cx)].max() == 255  # the crop's centre is the same point
    # Never beyond the cut image unless the cell would fill more than MAX_CELL_SHARE.
    assert side == pytest.approx(min(2 * cell, max(cut.shape[0], cell / MAX_CELL_SHARE)))
    assert cell / side <= max(0.5, MAX_CELL_SHARE) + 1e-9
