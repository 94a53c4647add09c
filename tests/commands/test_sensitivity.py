"""The review sensitivity to unfamiliar cells (`vision.unfamiliar.SENSITIVITIES`) end to
end with the tiny models given unfamiliar-cell statistics: a stricter level flags more
cells, is stamped on every field, named in the audit trail, the JSON and the report; a
classifier whose card has no thresholds for it refuses it with a clear message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from tiny_models import _crop, smear_field

from hemoscope.cli import main
from hemoscope.core import SENSITIVITY_STAMP, CaseInfo
from hemoscope.store import CaseStore
from hemoscope.vision.classifier import Classifier
from hemoscope.vision.model_card import file_sha256
from hemoscope.vision.pipeline import Pipeline
from hemoscope.vision.unfamiliar import SENSITIVITIES, STANDARD, UnfamiliarModel, fit


@pytest.fixture(scope="module")
def sensitive_classifier(
    model_paths: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The tiny classifier with unfamiliar-cell statistics fitted on crops of generated
    fields, one threshold per review sensitivity (quantiles of the same crops' scores)."""
    folder = tmp_path_factory.mktemp("sensitive")
    onnx = Path(shutil.copy(model_paths[1], folder / "classifier.onnx"))
    card = json.loads(model_paths[1].with_suffix(".json").read_text(encoding="utf-8"))
    onnx.with_suffix(".json").write_text(json.dumps(card), encoding="utf-8")
    clf = Classifier(onnx, threads=1)
    crops = np.stack([_crop(smear_field(s), clf.input_size, clf.crop_scale) for s in range(40)])
    embedding = clf.classify_crops(crops).embedding
    labels = np.arange(len(embedding)) % len(clf.classes)
    means, whiten = fit(embedding, labels, len(clf.classes))
    scores = UnfamiliarModel(means, whiten, np.inf).scores(embedding)
    levels = {name: float(np.quantile(scores, q)) for name, q in SENSITIVITIES.items()}
    npz = onnx.with_suffix(".unfamiliar.npz")
    UnfamiliarModel(means, whiten, levels[STANDARD]).save(npz)
    card["unfamiliar"] = {
        "file": npz.name,
        "sha256": file_sha256(npz),
        "threshold": levels[STANDARD],
        "thresholds": levels,
    }
    onnx.with_suffix(".json").write_text(json.dumps(card), encoding="utf-8")
    return onnx


def unfamiliar_calls(pipeline: Pipeline, seeds: range) -> tuple[int, int]:
    """(white cells, of them flagged unfamiliar) over generated fields."""
    cells = [c for s in seeds for c in pipeline.analyze(smear_field(s)).cells if c.auto_class]
    return len(cells), sum("unfamiliar" in c.review_reason for c in cells)


def test_a_stricter_sensitivity_flags_more_cells_and_is_stamped_on_each_field(
    model_paths: tuple[Path, Path], sensitive_classifier: Path, tmp_path: Path
) -> None:
    pipeline = Pipeline.load(model_paths[0], sensitive_classifier, threads=1)
    assert pipeline.sensitivity == STANDARD
    n, standard = unfamiliar_calls(pipeline, range(100, 106))
    assert all(m.name != SENSITIVITY_STAMP for m in pipeline.analyze(smear_field(1)).models)
    pipeline.set_sensitivity("highest")
    n_again, highest = unfamiliar_calls(pipeline, range(100, 106))
    assert n_again == n > 0 and highest > standard, (n, standard, highest)
    field = pipeline.analyze(smear_field(2))
    stamp = [m for m in field.models if m.name == SENSITIVITY_STAMP]
    assert len(stamp) == 1 and stamp[0].version.startswith("highest (20%")
    # The audit trail says at which sensitivity the field's cells were flagged.
    with CaseStore.open(tmp_path / "cases.db") as store:
        case = store.create_case(CaseInfo(sample_id="S-1"), operator="ana")
        store.add_field(case, field, smear_field(2), operator="ana")
        details = [r.detail for r in store.audit_trail(case.id) if r.action == "add-field"]
    assert len(details) == 1 and "flagged at review sensitivity highest" in details[0]
    pipeline.set_sensitivity(STANDARD)
    assert all(m.name != SENSITIVITY_STAMP for m in pipeline.analyze(smear_field(1)).models)
    with pytest.raises(Exception, match="unknown review sensitivity"):
        pipeline.set_sensitivity("paranoid")
    assert pipeline.sensitivity == STANDARD  # a refused level leaves the one in use


@pytest.mark.usefixtures("qapp")  # the report must not create a bare QGuiApplication
def test_analyze_and_classify_take_the_sensitivity_and_say_so(
    model_paths: tuple[Path, Path],
    sensitive_classifier: Path,
    field_folder: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    det = str(model_paths[0])
    out, pdf = tmp_path / "a.json", tmp_path / "r.pdf"
    argv = ["analyze", str(field_folder), "--detector", det, "--classifier"]
    argv += [str(sensitive_classifier), "--threads", "1", "--quiet", "--json", str(out)]
    assert main([*argv, "--sensitivity", "high", "--pdf", str(pdf)]) == 0
    assert json.loads(out.read_text())["review_sensitivity"] == "high"
    assert "unfamiliar cells flagged at review sensitivity high" in capsys.readouterr().out
    from pypdf import PdfReader

    text = " ".join(" ".join(p.extract_text() for p in PdfReader(pdf).pages).split())
    assert "review sensitivity high (10% of the training laboratory's own cells" in text

    cells = tmp_path / "cells"
    cells.mkdir()
    for s in range(4):
        cv2.imwrite(str(cells / f"c{s}.png"), smear_field(200 + s)[100:260, 200:360])
    rows = {}
    for level in ("standard", "highest"):
        js = tmp_path / f"{level}.json"
        argv = ["classify", str(cells), "--model", str(sensitive_classifier), "--framing"]
        argv += ["whole", "--threads", "1", "--json", str(js), "--sensitivity", level]
        assert main(argv) == 0
        result = json.loads(js.read_text())
        assert result["review_sensitivity"] == level
        rows[level] = [r["unfamiliarity"] for r in result["images"]]
    assert rows["standard"] == rows["highest"]  # the score is the same; the threshold not
    # evaluate classifier measures the flags at the level asked for, and says which.
    lab = tmp_path / "lab"
    (lab / "lymphocyte").mkdir(parents=True)
    for s in range(6):
        cv2.imwrite(str(lab / "lymphocyte" / f"c{s}.png"), smear_field(300 + s)[100:260, 200:360])
    flagged = {}
    for level in ("standard", "highest"):
        js = tmp_path / f"eval-{level}.json"
        argv = ["evaluate", "classifier", "--data", str(lab), "--model", str(sensitive_classifier)]
        argv += ["--framing", "whole", "--threads", "1", "--json", str(js)]
        assert main([*argv, "--sensitivity", level]) == 0
        result = json.loads(js.read_text())
        assert result["review_sensitivity"] == level
        flagged[level] = result
    assert flagged["standard"]["accuracy"] == flagged["highest"]["accuracy"]
    assert flagged["standard"]["flagged_fraction"] <= flagged["highest"]["flagged_fraction"]


def test_a_classifier_without_thresholds_refuses_a_stricter_sensitivity(
    model_paths: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cells = tmp_path / "cells"
    cells.mkdir()
    cv2.imwrite(str(cells / "c.png"), smear_field(3)[100:260, 200:360])
    argv = ["classify", str(cells), "--model", str(model_paths[1]), "--framing", "whole"]
    assert main([*argv, "--sensitivity", "high"]) != 0
    assert "no unfamiliar-cell statistics" in capsys.readouterr().err
    assert main([*argv, "--sensitivity", "standard"]) == 0
