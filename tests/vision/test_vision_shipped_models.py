"""The shipped models: cards, integrity, robustness to odd input, and accuracy on real data."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from hemoscope.vision.classification_metrics import softmax
from hemoscope.vision.classifier import Classifier
from hemoscope.vision.detection_metrics import ImageResult, evaluate
from hemoscope.vision.detector import Detector
from hemoscope.vision.lab_profile import LabProfile
from hemoscope.vision.model_card import ModelError, file_sha256, models_dir

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is absent")


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(threads=2)


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(threads=2)


@pytest.mark.parametrize(("name", "limit_mb"), [("detector", 15), ("classifier", 10)])
def test_cards_describe_the_shipped_files(name: str, limit_mb: int) -> None:
    onnx = models_dir() / f"{name}.onnx"
    card = json.loads(onnx.with_suffix(".json").read_text(encoding="utf-8"))
    assert card["sha256"] == file_sha256(onnx)
    assert onnx.stat().st_size < limit_mb * 1024 * 1024
    for key in ("classes", "input", "data", "training", "metrics", "date"):
        assert key in card, key
    assert card["training"]["command"].startswith(
        ("hemoscope train", "python -m hemoscope.training")
    )


def test_a_damaged_model_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    src = models_dir() / "detector.onnx"
    shutil.copy(src, tmp_path / "detector.onnx")
    shutil.copy(src.with_suffix(".json"), tmp_path / "detector.json")
    with (tmp_path / "detector.onnx").open("r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02\x03")
    with pytest.raises(ModelError, match="does not match its card"):
        Detector(tmp_path / "detector.onnx")
    with pytest.raises(ModelError, match="not found"):
        Detector(tmp_path / "missing.onnx")


def test_a_card_whose_more_turns_below_is_not_a_number_is_refused(tmp_path: Path) -> None:
    src = models_dir() / "classifier.onnx"
    for suffix in (".onnx", ".unfamiliar.npz"):
        shutil.copy(src.with_name("classifier" + suffix), tmp_path / ("classifier" + suffix))
    card = json.loads(src.with_suffix(".json").read_text(encoding="utf-8"))
    card["more_turns_below"] = "often"
    (tmp_path / "classifier.json").write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match="more_turns_below"):
        Classifier(tmp_path / "classifier.onnx", threads=1)
    del card["more_turns_below"]  # absent: every crop gets every turn
    (tmp_path / "classifier.json").write_text(json.dumps(card), encoding="utf-8")
    assert Classifier(tmp_path / "classifier.onnx", threads=1).more_turns_below is None


@pytest.mark.parametrize(
    "image",
    [
        np.full((480, 640), 200, np.uint8),  # gray
        np.full((480, 640, 4), 200, np.uint8),  # RGBA
        np.full((8, 8, 3), 200, np.uint8),  # tiny
        np.full((3000, 4000, 3), 220, np.uint8),  # large frame
        np.full((1, 5000, 3), 220, np.uint8),  # degenerate strip
    ],
    ids=["gray", "rgba", "tiny", "large", "strip"],
)
def test_detector_gives_results_for_any_8bit_frame(detector: Detector, image: np.ndarray) -> None:
    d = detector.detect(image)
    h, w = image.shape[:2]
    assert d.boxes.dtype == np.float32 and d.boxes.shape == (len(d), 4)
    if len(d):
        assert (d.boxes[:, [0, 2]] >= 0).all() and (d.boxes[:, [0, 2]] <= w).all()
        assert (d.boxes[:, [1, 3]] >= 0).all() and (d.boxes[:, [1, 3]] <= h).all()


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((0, 0, 3), np.uint8), "empty"),
        (np.zeros((10, 10, 3), np.uint16), "8-bit"),
        (np.zeros((10, 10, 3), np.float32), "8-bit"),
    ],
)
def test_detector_rejects_unusable_frames_clearly(
    detector: Detector, image: np.ndarray, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        detector.detect(image)


@needs_data
def test_detector_on_real_validation_fields(detector: Detector) -> None:
    from hemoscope.vision.datasets import iter_yolo

    results = []
    for i, (_p, rgb, boxes, classes) in enumerate(iter_yolo(DATA / "txl-pbc", "val", 3)):
        if i % 4:
            continue  # every fourth image keeps the test short
        d = detector.detect(rgb, channels="rgb")
        results.append(ImageResult(boxes, classes, d.boxes, d.classes, d.scores))
    rep = evaluate(results, detector.names, detector.threshold)
    assert rep.images >= 60
    assert rep.ap50["wbc"] >= 0.95
    assert rep.map50 >= 0.85
    assert rep.exact_count_fraction["wbc"] >= 0.9


@needs_data
def test_detector_finds_cells_in_a_tiled_wide_field(detector: Detector) -> None:
    """A 2x2 mosaic of real fields shrunk to the original size still yields its cells."""
    from hemoscope.vision.datasets import load_rgb

    files = sorted((DATA / "txl-pbc" / "images" / "val").iterdir())[:4]
    tiles = [cv2.resize(load_rgb(p), (640, 480)) for p in files]
    mosaic = np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:])])
    big = cv2.resize(mosaic, (2560, 1920), interpolation=cv2.INTER_LINEAR)
    d = detector.detect(big, channels="rgb")
    assert d.count("wbc") >= 3


class _WeakPeaks:
    """An ONNX session stand-in: a few sure 50 px red cells among many weak 8 px peaks."""

    def run(self, _names: object, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        _, _, h, w = feeds["image"].shape
        heat = np.zeros((1, 3, h // 4, w // 4), np.float32)
        size = np.full((1, 2, h // 4, w // 4), 8.0, np.float32)
        heat[0, 1, 2::6, 2::6] = 0.01
        for y, x in ((10, 10), (10, 30), (10, 50), (30, 10), (30, 30), (30, 50)):
            heat[0, 1, y, x] = 0.9
            size[0, :, y, x] = 50.0
        return [heat, size, np.zeros_like(size)]


def test_weak_peaks_do_not_decide_the_cell_size() -> None:
    """Only sure red cells say how large cells are: a low threshold must not send an
    ordinary field to tiles because its many weak peaks are small."""
    det = Detector()
    det.session = _WeakPeaks()  # type: ignore[assignment]
    det.set_threshold(0.001)
    d = det.detect(np.zeros((480, 640, 3), np.uint8))
    assert d.tiles == 1
    assert d.count("rbc") > 6


@needs_data
def test_a_low_score_floor_keeps_the_counted_boxes_and_the_scale() -> None:
    """Measuring AP keeps scores down to AP_SCORE_FLOOR: the many weak peaks must not
    change how large the cells look (no tiling) nor the boxes above the card's thresholds."""
    from hemoscope.vision.datasets import load_rgb
    from hemoscope.vision.detection_metrics import AP_SCORE_FLOOR

    counting, floor = Detector(), Detector()
    floor.set_threshold(AP_SCORE_FLOOR)
    for path in sorted((DATA / "txl-pbc" / "images" / "val").iterdir())[:12]:
        rgb = load_rgb(path)
        card, low = counting.detect(rgb, channels="rgb"), floor.detect(rgb, channels="rgb")
        assert low.tiles == card.tiles == 1
        assert len(low) > len(card)
        keep = low.scores >= counting.class_thresholds[low.classes]
        np.testing.assert_array_equal(low.classes[keep], card.classes)
        np.testing.assert_allclose(low.boxes[keep], card.boxes)


@needs_data
def test_classifier_on_a_sample_of_the_validation_split(classifier: Classifier) -> None:
    from hemoscope.training.pbc_data import list_samples, stratified_split
    from hemoscope.vision.datasets import load_rgb

    card = classifier.card
    samples, _ = list_samples(DATA / "pbc", classifier.classes)
    seed = int(card["training"].get("split_seed", card["training"]["seed"]))
    _, val = stratified_split(samples, 0.15, seed)
    pick = val[:: max(1, len(val) // 400)]
    crops = np.stack([classifier.crop_whole_image(load_rgb(s.path), channels="rgb") for s in pick])
    res = classifier.classify_crops(crops)
    truth = [classifier.classes[s.label] for s in pick]
    accuracy = float(np.mean([a == b for a, b in zip(res.labels, truth, strict=True)]))
    assert accuracy >= 0.95


def test_classifier_handles_batches_of_any_size(classifier: Classifier) -> None:
    s = classifier.input_size
    for n in (0, 1, 17):
        res = classifier.classify_crops(np.zeros((n, s, s, 3), np.uint8))
        assert len(res) == n and res.probabilities.shape == (n, len(classifier.classes))
    with pytest.raises(ValueError, match="expected crops"):
        classifier.classify_crops(np.zeros((2, 10, 10, 3), np.uint8))


def test_turns_average_the_crop_and_its_quarter_turns() -> None:
    one = Classifier(threads=1, turns=1)
    two = Classifier(threads=1, turns=2)
    rng = np.random.default_rng(3)
    s = one.input_size
    crops = rng.integers(0, 256, (3, s, s, 3)).astype(np.uint8)
    turned = np.ascontiguousarray(np.rot90(crops, 1, axes=(1, 2)))
    lg0, em0 = one.logits_and_embedding(crops)
    lg1, em1 = one.logits_and_embedding(turned)
    lg, em = two.logits_and_embedding(crops)
    np.testing.assert_allclose(lg, (lg0 + lg1) / 2, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(em, (em0 + em1) / 2, rtol=1e-4, atol=1e-4)
    assert not np.allclose(lg0, lg1, atol=1e-3)  # the turn is a different view
    assert Classifier(threads=1, turns=9).turns == 4


@needs_data
def test_the_shipped_descriptor_is_the_embedding_and_the_scaled_middle_stages(
    classifier: Classifier,
) -> None:
    """What a profile reads: the embedding, then the card's ``features`` (64 + 128 pooled
    channels of the middle stages, scaled to the embedding's size on PBC's crops)."""
    card = classifier.card
    assert card["outputs"]["features"] == ["n", 192] and len(card["features"]["scales"]) == 2
    assert "hemoscope.training features" in card["features"]["command"]
    assert classifier.descriptor_size == 384 and classifier.embedding_size == 192
    from hemoscope.training.pbc_data import list_samples, stratified_split
    from hemoscope.vision.datasets import load_rgb

    samples, _ = list_samples(DATA / "pbc", classifier.classes)
    _, val = stratified_split(samples, 0.15, int(card["training"]["seed"]))
    pick = val[:: len(val) // 24][:24]
    crops = np.stack([classifier.crop_whole_image(load_rgb(s.path), channels="rgb") for s in pick])
    logits, descriptor = classifier.logits_and_descriptor(crops)
    same_logits, embedding = classifier.logits_and_embedding(crops)
    np.testing.assert_array_equal(logits, same_logits)
    np.testing.assert_array_equal(descriptor[:, :192], embedding)
    # Scaled to the embedding's root mean square on PBC's crops (within a sample's noise).
    rms = np.sqrt(np.mean(embedding.astype(np.float64) ** 2))
    for block in (descriptor[:, 192:256], descriptor[:, 256:]):
        assert 0.7 < np.sqrt(np.mean(block.astype(np.float64) ** 2)) / rms < 1.4
    every = Classifier(threads=1)
    every.more_turns_below = None  # every crop turned, as logits_and_embedding turns them
    assert np.allclose(every.classify_crops(crops).embedding, embedding, atol=1e-6)


def _batches_run(clf: Classifier) -> list[int]:
    """The batch size of every run of ``clf``'s model from now on."""
    sizes: list[int] = []
    session_run = clf.session.run

    def counted(names: object, feed: dict[str, np.ndarray]) -> object:
        sizes.append(len(feed["image"]))
        return session_run(names, feed)  # type: ignore[arg-type]

    clf.session.run = counted  # type: ignore[method-assign]
    return sizes


def test_only_the_crops_the_first_view_leaves_unsure_get_the_later_turn() -> None:
    """The card's ``more_turns_below``: a crop whose first view (crop and mirror) names
    its class with at least that probability keeps that view's outputs; the others are
    averaged over both turns, exactly as when every crop is turned; the second run of
    the model sees only those."""
    assert Classifier(threads=1).more_turns_below == Classifier(threads=1).card["more_turns_below"]
    clf = Classifier(threads=1, review_threshold=0.0)
    assert clf.turns == 2
    rng = np.random.default_rng(5)
    s = clf.input_size
    crops = rng.integers(0, 256, (12, s, s, 3)).astype(np.uint8)
    one_logits, one_emb = clf.logits_and_embedding(crops, turns=1)
    all_logits, all_emb = clf.logits_and_embedding(crops)
    first = softmax(one_logits, clf.temperature).max(axis=1)
    clf.more_turns_below = float(np.median(first))  # half the crops unsure
    unsure = first < clf.more_turns_below
    by_shipped, by_profile_only = clf.unsure_at_first(*clf.logits_and_descriptor(crops, turns=1))
    np.testing.assert_array_equal(by_shipped, unsure)
    assert not by_profile_only.any()
    assert 0 < unsure.sum() < len(crops)
    batches = _batches_run(clf)
    res = clf.classify_crops(crops)
    assert batches == [len(crops), int(unsure.sum())]
    np.testing.assert_allclose(res.embedding[unsure], all_emb[unsure], atol=1e-6)
    np.testing.assert_allclose(res.embedding[~unsure], one_emb[~unsure], atol=1e-6)
    expected = np.where(unsure[:, None], all_logits, one_logits)
    np.testing.assert_allclose(
        res.probabilities, softmax(expected, clf.temperature), rtol=1e-5, atol=1e-6
    )
    # A review threshold above it: every crop below the review threshold is turned too.
    strict = Classifier(threads=1, review_threshold=float(np.median(first)))
    strict.more_turns_below = 0.0
    runs = _batches_run(strict)
    strict.classify_crops(crops)
    assert runs == [len(crops), int(unsure.sum())]
    # The same at a stricter review sensitivity: it changes flags, never classes.
    clf.set_sensitivity("high")
    batches.clear()
    high = clf.classify_crops(crops)
    assert batches == [len(crops), int(unsure.sum())]
    np.testing.assert_array_equal(high.probabilities, res.probabilities)
    clf.set_sensitivity("standard")
    # With a laboratory profile, unsure is by the profile's head: one that is sure of
    # nothing (a very high temperature) turns every crop.
    unsure_of_all = LabProfile.unlabelled(
        classes=clf.classes, embedding_size=clf.descriptor_size, base_temperature=clf.temperature,
        models={"classifier": clf.card}, name="unsure",
    )  # fmt: skip
    clf.set_profile(replace(unsure_of_all, temperature=1000.0))
    batches.clear()
    clf.classify_crops(crops)
    assert batches == [len(crops), len(crops)]


def test_adapt_views_run_each_quarter_turn_once_and_equal_the_turned_crops() -> None:
    """`lab_embed.embed_views` builds its views (each the classifier's average over two
    quarter turns) from each quarter turn run once: the same rows as classifying every
    turned crop, with half the runs of the model."""
    from hemoscope.vision.lab_embed import embed, embed_views

    two = Classifier(threads=1, turns=2)
    runs: list[int] = []
    session_run = two.session.run

    def counted(*args: object, **kwargs: object) -> object:
        runs.append(1)
        return session_run(*args, **kwargs)  # type: ignore[arg-type]

    rng = np.random.default_rng(4)
    s = two.input_size
    crops = rng.integers(0, 256, (3, s, s, 3)).astype(np.uint8)
    expected = [embed(two, np.ascontiguousarray(np.rot90(crops, r, axes=(1, 2)))) for r in range(4)]
    two.session.run = counted  # type: ignore[method-assign]
    logits, emb, cell, primary = embed_views(two, crops, views=4)
    assert len(runs) == 4  # one batch, four quarter turns (eight before)
    np.testing.assert_allclose(logits, np.concatenate([e[0] for e in expected]), atol=1e-4)
    np.testing.assert_allclose(emb, np.concatenate([e[1] for e in expected]), atol=1e-4)
    assert cell.tolist() == [0, 1, 2] * 4 and primary.tolist() == [True] * 3 + [False] * 9
    # One view: the crop as the station sees it, both its turns.
    one_view = embed_views(two, crops, views=1)
    np.testing.assert_allclose(one_view[0], expected[0][0], atol=1e-4)
