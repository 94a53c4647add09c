"""The pipeline with ONNX models: tiny exported ones always, the shipped ones when present."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import cv2
import pytest

from hemoscope.core import DEFAULT_TAXONOMY, CellKind
from hemoscope.vision.classifier import Classifier
from hemoscope.vision.crops import rbc_diameter
from hemoscope.vision.model_card import models_dir
from hemoscope.vision.pipeline import Pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "commands"))
from tiny_models import smear_field

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
SHIPPED = models_dir()
needs_shipped = pytest.mark.skipif(
    not ((SHIPPED / "detector.onnx").is_file() and (SHIPPED / "classifier.onnx").is_file()),
    reason="the shipped models (models/*.onnx) are not there yet",
)


def test_tiny_models_end_to_end(model_paths: tuple[Path, Path]) -> None:
    p = Pipeline.load(*model_paths, threads=1)
    sessions = (p.detector.session, p.classifier.session)  # type: ignore[attr-defined]
    img = smear_field(3)
    res = p.analyze_frame(img, source="f.png")
    fld = res.field
    assert (fld.width, fld.height) == (640, 480) and fld.cells
    cards = p.model_cards()  # each field names the models that analysed it
    assert [(m.name, m.sha256) for m in fld.models] == [
        (cards[r]["name"], cards[r]["sha256"]) for r in ("detector", "classifier")
    ]
    wbc = [c for c in fld.cells if c.kind is CellKind.WBC]
    assert wbc and len(res.wbc_ids) == len(wbc)
    for c in fld.cells:
        x1, y1, x2, y2 = c.box.as_tuple()
        assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 480
        assert 0 <= c.score <= 1
    # The same calls as the classifier on its own give the same classes and probabilities.
    clf: Classifier = p.classifier  # type: ignore[assignment]
    red = [c.box.as_tuple() for c in fld.cells if c.kind is CellKind.RBC]
    rbc = rbc_diameter(red, fld.width, fld.height)
    direct = clf.classify_boxes(img, [c.box.as_tuple() for c in wbc], rbc=rbc)
    for c, label, conf, flag in zip(
        wbc, direct.labels, direct.confidence, direct.review, strict=True
    ):
        if label == "platelet" and c.auto_class != "platelet":  # a white cell's size
            assert c.review and "detector and classifier disagree" in c.review_reason
            assert DEFAULT_TAXONOMY[c.auto_class].kind is CellKind.WBC
            continue
        assert c.auto_class == label
        assert c.probability == pytest.approx(conf, abs=1e-6)
        assert c.review == bool(flag)
        assert not c.review or (c.probability or 0) < p.review_threshold
    assert all(c.auto_class in DEFAULT_TAXONOMY for c in wbc)
    p.analyze(smear_field(4))
    assert (p.detector.session, p.classifier.session) == sessions  # type: ignore[attr-defined]
    cards = p.model_cards()
    assert cards["detector"]["name"] == "tiny-detector" and "sha256" in cards["classifier"]


@needs_shipped
def test_shipped_models_find_and_classify_pbc_cells() -> None:
    """Each PBC image has one centred white cell of a known class."""
    if not (SHARED / "pbc").is_dir():
        pytest.skip("../shared/data is absent")
    p = Pipeline.load(threads=2)
    classes = ("neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil", "ig")
    hits = total = 0
    for name in classes:
        for path in sorted((SHARED / "pbc" / name).glob("*.jpg"))[-6:]:
            fld = p.analyze(cv2.imread(str(path)))
            h, w = fld.height, fld.width
            central = [
                c for c in fld.cells
                if c.kind is CellKind.WBC and c.box.contains(w / 2, h / 2)
            ]  # fmt: skip
            total += 1
            hits += bool(central) and central[0].auto_class == name
    assert hits / total >= 0.6, f"{hits}/{total} PBC cells found and classified right"


@needs_shipped
def test_shipped_models_count_txl_pbc_white_cells() -> None:
    val = SHARED / "txl-pbc" / "images" / "val"
    if not val.is_dir():
        pytest.skip("../shared/data is absent")
    p = Pipeline.load(threads=2)
    found = Counter[str]()
    for path in sorted(val.glob("*.jpg"))[:24]:
        labels = (val.parents[1] / "labels" / "val" / f"{path.stem}.txt").read_text().split()
        true_wbc = labels[::5].count("0")
        found["exact" if p.analyze(cv2.imread(str(path))).n_wbc == true_wbc else "off"] += 1
    assert found["exact"] >= 0.75 * 24, found
