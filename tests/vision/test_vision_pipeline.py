"""Pipeline logic with scripted models: cells, kinds, classes, review, clipping, threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

import hemoscope.vision.pipeline as pipeline_module
from hemoscope.core import (
    DEFAULT_TAXONOMY,
    Case,
    CaseInfo,
    CellKind,
    Tally,
    effective_kind,
    platelets_per_field,
    wbc_per_field,
)
from hemoscope.vision.classifier import Classification
from hemoscope.vision.detector import Detections
from hemoscope.vision.image_input import Channels
from hemoscope.vision.model_card import ModelError
from hemoscope.vision.pipeline import Pipeline

NAMES = ("wbc", "rbc", "platelet")
CLASSES = ("lymphocyte", "neutrophil", "platelet", "erythroblast")


class ScriptedDetector:
    """Returns fixed detections; records the frames it saw; fails if called re-entrantly."""

    def __init__(self, boxes: list[list[float]], classes: list[int], scores: list[float]) -> None:
        self.names = NAMES
        self.boxes = np.array(boxes, np.float32).reshape(-1, 4)
        self.classes = np.array(classes, np.int64)
        self.scores = np.array(scores, np.float32)
        self.seen: list[tuple[npt.NDArray[np.generic], str]] = []
        self.active = 0
        self.delay = 0.0

    def detect(self, image: npt.NDArray[np.generic], channels: Channels = "bgr") -> Detections:
        self.active += 1
        assert self.active == 1, "detector called from two threads at once"
        time.sleep(self.delay)
        self.seen.append((image, channels))
        self.active -= 1
        return Detections(self.boxes, self.classes, self.scores, self.names)


class ScriptedClassifier:
    """Class i of crop k is ``labels[k]``; confidence ``conf[k]``; crop = mean colour."""

    def __init__(self, labels: Sequence[str], conf: Sequence[float], threshold: float = 0.7):
        self.classes = CLASSES
        self.review_threshold = threshold
        self.crop_scale = 2.0
        self.labels = list(labels)
        self.conf = list(conf)
        self.calls = 0
        self.done = 0
        self.crop_sources: list[npt.NDArray[np.uint8]] = []
        self.scales: list[float | None] = []

    def crops_for_boxes(
        self, image_rgb: npt.NDArray[np.uint8], boxes: npt.ArrayLike, rbc: float | None = None
    ) -> npt.NDArray[np.uint8]:
        self.crop_sources.append(image_rgb)
        self.scales.append(rbc)
        b = np.asarray(boxes, np.float64).reshape(-1, 4)
        return np.zeros((len(b), 8, 8, 3), np.uint8)

    def classify_crops(
        self, crops: npt.NDArray[np.uint8] | Sequence[npt.NDArray[np.uint8]]
    ) -> Classification:
        n = len(crops)
        self.calls += 1
        labels = tuple(self.labels[self.done + i] for i in range(n))
        conf = np.array(self.conf[self.done : self.done + n])
        self.done += n
        probs = np.zeros((n, len(CLASSES)))
        for i, (lbl, c) in enumerate(zip(labels, conf, strict=True)):
            probs[i] = (1 - c) / (len(CLASSES) - 1)
            probs[i, CLASSES.index(lbl)] = c
        return Classification(
            probs, labels, conf, conf < self.review_threshold, np.ones((n, 5), np.float32), CLASSES
        )


def frame(h: int = 100, w: int = 200) -> npt.NDArray[np.uint8]:
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = 10  # blue in BGR
    img[..., 2] = 200  # red in BGR
    return img


def test_cells_kinds_classes_probability_and_review() -> None:
    det = ScriptedDetector(
        [
            [10, 10, 40, 40],
            [50, 10, 70, 30],
            [100, 50, 130, 80],
            [150, 5, 155, 10],
            [60, 60, 90, 90],
        ],
        [0, 1, 0, 2, 0],
        [0.9, 0.8, 0.7, 0.6, 0.5],
    )
    clf = ScriptedClassifier(["neutrophil", "lymphocyte", "neutrophil"], [0.95, 0.4, 0.8])
    fld = Pipeline(det, clf).analyze(frame(), source="slide/1.png")
    assert (fld.width, fld.height, fld.source) == (200, 100, "slide/1.png")
    kinds = [c.kind for c in fld.cells]
    assert kinds == [CellKind.WBC, CellKind.RBC, CellKind.WBC, CellKind.PLATELET, CellKind.WBC]
    assert [c.auto_class for c in fld.cells] == [
        "neutrophil", None, "lymphocyte", None, "neutrophil",
    ]  # fmt: skip
    assert [c.probability for c in fld.cells] == [0.95, None, pytest.approx(0.4), None, 0.8]
    assert [c.review for c in fld.cells] == [False, False, True, False, False]
    assert [c.review_reason for c in fld.cells] == ["", "", "low confidence", "", ""]
    assert [c.score for c in fld.cells] == pytest.approx([0.9, 0.8, 0.7, 0.6, 0.5])
    assert fld.cells[0].box.as_tuple() == (10, 10, 40, 40)
    assert len({c.id for c in fld.cells}) == 5 and all(c.final_class is None for c in fld.cells)


def _field_with_red_cells(wbc_boxes: list[list[int]]) -> ScriptedDetector:
    """White-cell boxes and four whole red cells 40 px across (the field's scale)."""
    rbc = [[10 + 45 * i, 100, 50 + 45 * i, 140] for i in range(4)]
    boxes = wbc_boxes + rbc
    classes = [0] * len(wbc_boxes) + [1] * len(rbc)
    return ScriptedDetector(boxes, classes, [0.9] * len(boxes))


def test_a_white_cell_called_platelet_stays_in_the_differential_flagged() -> None:
    # 36 px against red cells 40 px across: a white cell's size.
    det = _field_with_red_cells([[20, 20, 56, 56]])
    clf = ScriptedClassifier(["platelet"], [0.97])
    fld = Pipeline(det, clf).analyze(frame(200, 300))
    cell = fld.cells[0]
    assert cell.kind is CellKind.WBC and cell.auto_class != "platelet"
    assert effective_kind(cell) is CellKind.WBC
    assert cell.review and cell.review_reason == "detector and classifier disagree"
    # It keeps a white-cell class the classifier ranked (all tied here), with its probability.
    assert DEFAULT_TAXONOMY[cell.auto_class].kind is CellKind.WBC
    assert cell.probability == pytest.approx(0.03 / (len(CLASSES) - 1))
    tally = Tally.from_case(Case(CaseInfo("t"), (fld,)))
    assert tally.denominator == 1 and tally.count("platelet") == 0


class ReasonedClassifier(ScriptedClassifier):
    """Gives its calls with the classifier's own reasons, as the ONNX classifier does."""

    def classify_crops(
        self, crops: npt.NDArray[np.uint8] | Sequence[npt.NDArray[np.uint8]]
    ) -> Classification:
        res = super().classify_crops(crops)
        why = tuple("low confidence; unfamiliar" for _ in res.labels)
        return Classification(
            res.probabilities, res.labels, res.confidence, np.ones(len(why), bool),
            res.embedding, res.classes, reasons=why,
        )  # fmt: skip


def test_a_disagreement_joins_the_classifiers_own_reasons() -> None:
    det = _field_with_red_cells([[20, 20, 56, 56]])
    fld = Pipeline(det, ReasonedClassifier(["platelet"], [0.5])).analyze(frame(200, 300))
    cell = fld.cells[0]
    assert cell.review and effective_kind(cell) is CellKind.WBC
    assert cell.review_reason == "low confidence; unfamiliar; detector and classifier disagree"


def test_a_small_white_cell_detection_called_platelet_counts_as_a_platelet() -> None:
    # 12 px against red cells 40 px across: a large platelet or a clump, not flagged.
    det = _field_with_red_cells([[20, 20, 32, 32]])
    clf = ScriptedClassifier(["platelet"], [0.97])
    fld = Pipeline(det, clf).analyze(frame(200, 300))
    plt = fld.cells[0]
    assert plt.kind is CellKind.WBC and plt.auto_class == "platelet" and not plt.review
    assert effective_kind(plt) is CellKind.PLATELET
    case = Case(CaseInfo("t"), (fld,))
    assert platelets_per_field(case) == [1] and wbc_per_field(case) == [0]
    tally = Tally.from_case(case)
    assert tally.denominator == 0 and tally.count("platelet") == 1


def test_white_cells_are_cropped_at_the_scale_of_the_fields_red_cells() -> None:
    rbc = [[20 + 30 * i, 40, 40 + 30 * i, 62] for i in range(4)]  # 20 x 22: diameter 21
    edge = [[0, 0, 50, 50]]  # touches the edge: not a whole red cell, not measured
    det = ScriptedDetector([[150, 30, 180, 60], *rbc, *edge], [0, 1, 1, 1, 1, 1], [0.9] * 6)
    clf = ScriptedClassifier(["neutrophil"], [0.9])
    Pipeline(det, clf).analyze(frame())
    assert clf.scales == [pytest.approx(21.0)]
    few = ScriptedDetector([[150, 30, 180, 60], *rbc[:2], *edge], [0, 1, 1, 1], [0.9] * 4)
    clf = ScriptedClassifier(["neutrophil"], [0.9])
    Pipeline(few, clf).analyze(frame())
    assert clf.scales == [None]  # too few whole red cells: the box rule


def test_frame_analysis_rows_match_cells_and_bgr_becomes_rgb() -> None:
    det = ScriptedDetector([[0, 0, 20, 20], [30, 30, 60, 60]], [0, 0], [0.9, 0.9])
    clf = ScriptedClassifier(["erythroblast", "neutrophil"], [0.6, 0.99])
    img = frame()
    before = img.copy()
    res = Pipeline(det, clf).analyze_frame(img, "bgr")
    assert np.array_equal(img, before), "the caller's frame must not change"
    seen, channels = det.seen[0]
    assert channels == "rgb" and tuple(seen[0, 0]) == (200, 0, 10)
    assert tuple(clf.crop_sources[0][0, 0]) == (200, 0, 10)
    assert res.wbc_ids == tuple(c.id for c in res.field.cells)
    assert res.classes == CLASSES
    assert res.probabilities.shape == (2, 4) and res.embedding.shape == (2, 5)
    assert res.probabilities[1, CLASSES.index("neutrophil")] == pytest.approx(0.99)
    assert res.tiles == 1 and res.detect_s >= 0 and res.classify_s >= 0
    # An RGB frame given as such is passed on without a copy.
    rgb = np.ascontiguousarray(img[:, :, ::-1])
    Pipeline(det, ScriptedClassifier(["neutrophil"] * 2, [0.9] * 2)).analyze(rgb, "rgb")
    assert np.shares_memory(det.seen[-1][0], rgb)


class EmbeddingClassifier(ScriptedClassifier):
    """Gives each crop a distinct embedding (row i: i + 0.25 in every column)."""

    def classify_crops(
        self, crops: npt.NDArray[np.uint8] | Sequence[npt.NDArray[np.uint8]]
    ) -> Classification:
        res = super().classify_crops(crops)
        emb = np.arange(len(res.labels), dtype=np.float32)[:, None] + np.full((1, 6), 0.25)
        emb = emb.astype(np.float32)
        return Classification(
            res.probabilities, res.labels, res.confidence, res.review, emb, res.classes
        )


def test_each_white_cell_keeps_its_own_row_of_the_embedding() -> None:
    det = ScriptedDetector(
        [[0, 0, 20, 20], [40, 40, 46, 46], [30, 30, 60, 60]], [0, 1, 0], [0.9, 0.9, 0.9]
    )
    clf = EmbeddingClassifier(["erythroblast", "neutrophil"], [0.6, 0.99])
    res = Pipeline(det, clf).analyze_frame(frame())
    first, red, second = res.field.cells
    assert red.embedding is None  # red cells are not classified
    assert first.embedding is not None and second.embedding is not None
    assert first.embedding.dim == 6
    assert np.array_equal(first.embedding.vector(), np.full(6, 0.25, np.float32))
    assert np.array_equal(second.embedding.vector(), np.full(6, 1.25, np.float32))
    by_id = dict(zip(res.wbc_ids, res.embedding, strict=True))
    assert np.allclose(by_id[second.id], second.embedding.vector())


def test_boxes_are_clipped_and_invalid_ones_dropped() -> None:
    nan = float("nan")
    det = ScriptedDetector(
        [
            [-15, -5, 30, 40],
            [190, 90, 260, 140],
            [250, 10, 300, 20],
            [nan, 1, 5, 5],
            [10, 10, 10, 30],
            [5, 5, 15, 15],
        ],
        [1, 0, 1, 1, 1, 7],
        [1.2, 0.5, 0.5, 0.5, 0.5, 0.5],
    )
    clf = ScriptedClassifier(["lymphocyte"], [0.9])
    fld = Pipeline(det, clf).analyze(frame())
    assert [c.box.as_tuple() for c in fld.cells] == [(0, 0, 30, 40), (190, 90, 200, 100)]
    assert fld.cells[0].score == 1.0  # clipped into [0, 1]
    assert fld.cells[1].auto_class == "lymphocyte"


def test_many_white_cells_are_classified_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline_module, "CROP_CHUNK", 4)
    n = 10
    det = ScriptedDetector([[i * 10, 0, i * 10 + 9, 9] for i in range(n)], [0] * n, [0.9] * n)
    white = [c for c in CLASSES if c != "platelet"]  # a platelet call would be relabelled
    labels = [white[i % len(white)] for i in range(n)]
    clf = ScriptedClassifier(labels, [0.9] * n)
    res = Pipeline(det, clf).analyze_frame(frame())
    assert clf.calls == 3
    assert [c.auto_class for c in res.field.cells] == labels
    assert res.probabilities.shape == (n, 4)


def test_no_cells_and_other_inputs() -> None:
    det = ScriptedDetector([], [], [])
    p = Pipeline(det, ScriptedClassifier([], []))
    gray = np.full((30, 40), 128, np.uint8)
    res = p.analyze_frame(gray)
    assert res.field.cells == () and (res.field.width, res.field.height) == (40, 30)
    assert res.probabilities.shape == (0, 4)
    rgba = np.zeros((5, 6, 4), np.uint8)
    assert p.analyze(rgba).width == 6
    with pytest.raises(ValueError, match="8-bit"):
        p.analyze(np.zeros((5, 5, 3), np.uint16))
    with pytest.raises(ValueError, match="empty"):
        p.analyze(np.zeros((0, 5, 3), np.uint8))


def test_model_classes_must_fit_the_taxonomy() -> None:
    det = ScriptedDetector([], [], [])
    clf = ScriptedClassifier([], [])
    clf.classes = ("lymphocyte", "dragon")
    with pytest.raises(ModelError, match="dragon"):
        Pipeline(det, clf)
    clf.classes = ("Lymphocytes", "NRBC")  # names and aliases resolve to ids
    p = Pipeline(det, clf)
    assert p._class_ids == ("lymphocyte", "erythroblast")
    det.names = ("wbc", "spaceship")
    with pytest.raises(ModelError, match="spaceship"):
        Pipeline(det, ScriptedClassifier([], []))


def test_calls_from_several_threads_take_turns() -> None:
    det = ScriptedDetector([[0, 0, 20, 20]], [0], [0.9])
    det.delay = 0.01
    clf = ScriptedClassifier(["neutrophil"] * 8, [0.9] * 8)
    p = Pipeline(det, clf)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(2):
                assert p.analyze(frame()).cells[0].auto_class == "neutrophil"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(det.seen) == 8
