"""``hemoscope adapt`` end to end with the tiny models: a generated laboratory whose
colours the models never saw, refusal, the profile in classify/analyze (identity on every
field, in the JSON and on the report), profiles for other models, bad inputs, ``--db``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from adapt_data import LAB_CLASSES, lab_cell, make_lab

from hemoscope.cli import main
from hemoscope.vision.lab_profile import LabProfile


@pytest.fixture
def models(model_paths: tuple[Path, Path]) -> list[str]:
    det, clf = model_paths
    return ["--detector", str(det), "--model", str(clf), "--threads", "1"]


def adapt(tmp_path: Path, models: list[str], *args: str | Path) -> int:
    return main(["adapt", *map(str, args), *models, "--quiet"])


def accuracy(out_json: Path) -> float:
    images = json.loads(out_json.read_text())["images"]
    right = [Path(r["file"]).parent.name == r["class"] for r in images]
    return sum(right) / len(right)


def test_adapt_on_a_generated_laboratory_improves_it(
    tmp_path: Path, models: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    train = make_lab(tmp_path / "lab", 14, seed=0)
    test = make_lab(tmp_path / "later", 10, seed=50_000)
    profile = tmp_path / "lab.profile.json"
    assert adapt(tmp_path, models, "--data", train, "--out", profile, "--name", "Ward 3") == 0
    out = capsys.readouterr().out
    assert "42 labelled cells" in out and "shipped" in out and "profile" in out
    assert "Wrote laboratory profile 'Ward 3'" in out
    saved = LabProfile.load(profile)
    assert saved.cells == 42 and saved.cells_per_class == dict.fromkeys(LAB_CLASSES, 14)
    assert saved.validation["profile"]["accuracy"] > saved.validation["shipped"]["accuracy"]

    clf_args = [models[0], models[1], "--model", models[3], "--threads", "1"]
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    assert main(["classify", str(test), "--recursive", "--json", str(before), *clf_args]) == 0
    assert (
        main(
            [
                "classify",
                str(test),
                "--recursive",
                "--json",
                str(after),
                "--lab",
                str(profile),
                *clf_args,
            ]
        )
        == 0
    )
    assert accuracy(after) > max(0.8, accuracy(before) + 0.2)
    card = json.loads(after.read_text())["lab_profile"]
    assert card["sha256"] == saved.sha256 and "Ward 3" in card["name"]
    assert json.loads(before.read_text())["lab_profile"] is None


@pytest.mark.usefixtures("qapp")  # the report must not create a bare QGuiApplication
def test_analyze_stamps_the_profile_on_every_field_and_the_report(
    tmp_path: Path,
    models: list[str],
    field_folder: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    profile = tmp_path / "lab.json"
    assert (
        adapt(tmp_path, models, "--data", make_lab(tmp_path / "lab", 8, 0), "--out", profile) == 0
    )
    saved = LabProfile.load(profile)
    det, clf = models[1], models[3]
    out = tmp_path / "a.json"
    pdf = tmp_path / "r.pdf"
    args = ["analyze", str(field_folder), "--detector", det, "--classifier", clf, "--threads", "1"]
    assert (
        main([*args, "--lab", str(profile), "--json", str(out), "--pdf", str(pdf), "--quiet"]) == 0
    )
    models_json = json.loads(out.read_text())["models"]
    assert models_json["lab profile"]["sha256"] == saved.sha256

    from pypdf import PdfReader

    text = " ".join(p.extract_text() for p in PdfReader(pdf).pages).replace("\n", " ")
    assert saved.sha256[:12] in text and "lab" in text

    # Every field analysed with the profile records it beside the models.
    from hemoscope.vision.pipeline import Pipeline

    pipeline = Pipeline.load(det, clf, threads=1, profile=profile)
    field = pipeline.analyze(cv2.imread(str(next(field_folder.iterdir()))))
    assert saved.stamp() in field.models
    assert {m.sha256 for m in field.models} >= {
        saved.sha256,
        saved.models["classifier"]["sha256"],
        saved.models["detector"]["sha256"],
    }
    # ... and the audit trail names it when such a field enters a case.
    from hemoscope.core import CaseInfo
    from hemoscope.store import CaseStore

    with CaseStore.open(tmp_path / "cases.db") as store:
        case = store.create_case(CaseInfo(sample_id="S-9"), operator="ana")
        image = cv2.imread(str(next(field_folder.iterdir())))
        store.add_field(case, field, image, operator="ana")
        details = [r.detail for r in store.audit_trail(case.id) if r.action == "add-field"]
    assert len(details) == 1 and saved.sha256[:12] in details[0] and "Ward" not in details[0]
    assert "classified with lab profile 'lab'" in details[0]
    pipeline.set_profile(None)
    assert (
        saved.stamp() not in pipeline.analyze(cv2.imread(str(next(field_folder.iterdir())))).models
    )


def test_a_profile_for_other_model_files_is_refused(
    tmp_path: Path, models: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "lab.json"
    assert (
        adapt(tmp_path, models, "--data", make_lab(tmp_path / "lab", 8, 0), "--out", profile) == 0
    )
    other = tmp_path / "other"
    other.mkdir()
    clf = Path(models[3])
    for f in (clf, clf.with_suffix(".json")):
        shutil.copy(f, other / f.name)
    card = json.loads((other / "classifier.json").read_text())
    # Another file: the same graph with an unknown protobuf field (number 1000) appended.
    onnx = (other / "classifier.onnx").read_bytes() + b"\xc0\x3e\x01"
    (other / "classifier.onnx").write_bytes(onnx)
    import hashlib

    card["sha256"] = hashlib.sha256(onnx).hexdigest()
    (other / "classifier.json").write_text(json.dumps(card))
    capsys.readouterr()
    code = main(
        ["classify", str(tmp_path / "lab"), "--recursive", "--lab", str(profile),
         "--detector", models[1], "--model", str(other / "classifier.onnx")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert "was made for the classifier" in err and "hemoscope adapt" in err


def test_bad_inputs_get_clear_messages(
    tmp_path: Path, models: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.json"
    few = make_lab(tmp_path / "few", 2, 0)
    assert adapt(tmp_path, models, "--data", few, "--out", out) == 1
    assert "too few labelled cells: 6" in capsys.readouterr().err

    one = tmp_path / "one"
    (one / "neutrophil").mkdir(parents=True)
    for j in range(12):
        cv2.imwrite(str(one / "neutrophil" / f"{j}.png"), lab_cell("neutrophil", j))
    assert adapt(tmp_path, models, "--data", one, "--out", out) == 1
    assert "single class (neutrophil)" in capsys.readouterr().err

    unknown = make_lab(tmp_path / "unknown", 5, 0)
    (unknown / "macrophage").mkdir()
    assert adapt(tmp_path, models, "--data", unknown, "--out", out) == 1
    assert "'macrophage' match no class" in capsys.readouterr().err

    broken = make_lab(tmp_path / "broken", 5, 0)
    (broken / "lymphocyte" / "bad.png").write_bytes(b"not an image")
    assert adapt(tmp_path, models, "--data", broken, "--out", out) in (0, 1)
    assert "bad.png: cannot be read" in capsys.readouterr().err

    assert adapt(tmp_path, models, "--data", tmp_path / "nowhere", "--out", out) == 1
    assert "nowhere is not a folder" in capsys.readouterr().err
    assert adapt(tmp_path, models, "--db", tmp_path / "none.db", "--out", out) == 1
    assert "no case database" in capsys.readouterr().err
    assert not out.exists() or out.stat().st_size > 0


def test_evaluate_and_adapt_count_folders_of_ig_stages_as_ig(
    tmp_path: Path,
    models: list[str],
    model_paths: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "set"
    for k, name in enumerate(("promyelocyte", "myelocyte", "ig", "neutrophil")):
        (root / name).mkdir(parents=True)
        for j in range(2):
            cv2.imwrite(str(root / name / f"{j}.png"), lab_cell("neutrophil", 10 * k + j))
    js = tmp_path / "m.json"
    clf = model_paths[1]
    assert main(["evaluate", "classifier", "--data", str(root), "--model", str(clf),
                 "--threads", "1", "--json", str(js)]) == 0  # fmt: skip
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["images"] == 8 and data["unmatched_folders"] == []
    assert data["folders_counted_as"] == {"myelocyte": "ig", "promyelocyte": "ig"}
    labels = data["confusion"]["classes"]
    truth = dict(zip(labels, map(sum, data["confusion"]["matrix"]), strict=True))
    assert truth["ig"] == 6 and truth["neutrophil"] == 2

    stages = tmp_path / "stages"  # adapt: cells of the stages are IG cells
    for k, name in enumerate(("promyelocyte", "Myelocytes", "MMY")):
        (stages / name).mkdir(parents=True)
        for j in range(5):
            cv2.imwrite(str(stages / name / f"{j}.png"), lab_cell("neutrophil", 100 * k + j))
    capsys.readouterr()
    assert adapt(tmp_path, models, "--data", stages, "--out", tmp_path / "p.json") == 1
    assert "single class (ig)" in capsys.readouterr().err  # 15 cells, all IG


def test_a_profile_worse_than_the_shipped_model_is_not_written(
    tmp_path: Path,
    models: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hemoscope.vision import lab_adapt

    real = lab_adapt.adapt

    def worse(*args: object, **kwargs: object) -> lab_adapt.Adaptation:
        res = real(*args, **kwargs)  # type: ignore[arg-type]
        ruined = lab_adapt.Score(res.before.accuracy - 0.1, res.before.balanced_accuracy, {
            c: (n, 0.0) for c, (n, _) in res.before.per_class.items()})  # fmt: skip
        return lab_adapt.Adaptation(res.profile, res.before, ruined, res.method, res.seconds)

    monkeypatch.setattr(lab_adapt, "adapt", worse)
    out = tmp_path / "p.json"
    report = tmp_path / "v.json"
    lab = make_lab(tmp_path / "lab", 5, 0)
    assert adapt(tmp_path, models, "--data", lab, "--out", out, "--json", report) == 1
    err = capsys.readouterr().err
    assert "no profile written" in err and "worse than the shipped model" in err
    assert not out.exists()
    assert "worse" in json.loads(report.read_text())["refused"]


def test_db_collects_only_verified_cells_of_signed_off_cases(
    tmp_path: Path, models: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from adapt_db import case_database

    from hemoscope.store import CaseStore
    from hemoscope.store.verified import verified_fields

    db, expected = case_database(tmp_path / "cases.db")
    with CaseStore.open(db) as store:
        found = list(verified_fields(store))
    assert {v.sample_id for v in found} == {"S-1"}  # the open case S-2 is left out
    cells = [c for v in found for c in v.cells]
    assert len(cells) == expected + 1  # + the smudge cell, a class the classifier lacks
    assert all(c.final_class is not None for c in cells)
    assert any(c.final_class != c.auto_class for c in cells)  # corrected ones count too
    assert all(v.image is not None and v.image.shape == (192, 192, 3) for v in found)

    out = tmp_path / "db.profile.json"
    assert adapt(tmp_path, models, "--db", db, "--out", out) == 0
    captured = capsys.readouterr()
    assert f"{expected} labelled cells" in captured.out
    assert "1 verified cell(s) of class 'smudge', which the classifier lacks" in captured.err
    profile = LabProfile.load(out)
    assert profile.cells == expected and profile.source == f"db: {db}"


def classifier_with_statistics(
    tmp_path: Path, model_paths: tuple[Path, Path]
) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
    """The tiny classifier with unfamiliar-cell statistics, as training exports them, its
    threshold flagging half of the cells below; the laboratory's crops, their labels, and
    crops no class looks like."""
    from hemoscope.vision import unfamiliar
    from hemoscope.vision.classifier import Classifier
    from hemoscope.vision.lab_embed import embed
    from hemoscope.vision.model_card import file_sha256

    folder = tmp_path / "model"
    folder.mkdir()
    _, clf_path = model_paths
    for f in (clf_path, clf_path.with_suffix(".json")):
        shutil.copy(f, folder / f.name)
    plain = Classifier(folder / "classifier.onnx", threads=1)
    crops = np.stack(
        [plain.crop_whole_image(lab_cell(c, s)) for s in range(12) for c in LAB_CLASSES]
    )
    labels = np.array([i for _ in range(12) for i in range(3)])
    _, descriptor = embed(plain, crops)
    emb = plain.embedding_of(descriptor)  # what the unfamiliar-cell statistics read
    means, whiten = unfamiliar.fit(emb, labels, len(plain.classes))
    stats = unfamiliar.UnfamiliarModel(means, whiten, 0.0)
    npz = folder / "classifier.unfamiliar.npz"
    stats.save(npz)
    odd = np.stack([plain.crop_whole_image(smear_field_like(s)) for s in range(6)])
    everything = plain.logits_and_embedding(np.concatenate([crops, odd]))[1]
    threshold = float(np.median(stats.scores(everything)))
    card = json.loads((folder / "classifier.json").read_text())
    card["unfamiliar"] = {"file": npz.name, "sha256": file_sha256(npz), "threshold": threshold}
    (folder / "classifier.json").write_text(json.dumps(card))
    return Classifier(folder / "classifier.onnx", threads=1), crops, labels, odd


def test_a_profile_never_weakens_the_unfamiliar_cell_flag(
    tmp_path: Path, model_paths: tuple[Path, Path]
) -> None:
    from hemoscope.vision.lab_adapt import adapt as fit
    from hemoscope.vision.lab_embed import embed

    clf, crops, labels, odd = classifier_with_statistics(tmp_path, model_paths)
    logits, descriptor = embed(clf, crops)  # what a profile is fitted on
    profile = fit(
        descriptor, logits, labels, classes=clf.classes, base_temperature=clf.temperature,
        models={"classifier": clf.card}, name="x",
    ).profile  # fmt: skip
    cells = np.concatenate([crops, odd])
    without = clf.classify_crops(cells)
    clf.set_profile(profile)
    with_profile = clf.classify_crops(cells)
    assert with_profile.probabilities.tolist() != without.probabilities.tolist()
    np.testing.assert_array_equal(with_profile.unfamiliarity, without.unfamiliarity)
    flagged = ["unfamiliar" in r for r in without.reasons]
    assert any(flagged) and not all(flagged)
    assert ["unfamiliar" in r for r in with_profile.reasons] == flagged
    threshold = json.loads(clf.path.with_suffix(".json").read_text())["unfamiliar"]["threshold"]
    assert clf.unfamiliar is not None and clf.unfamiliar.threshold == threshold


def test_a_labelled_profile_records_how_often_its_cells_are_unfamiliar(
    tmp_path: Path, model_paths: tuple[Path, Path]
) -> None:
    """As a calibration does: the share of the labelled cells that the classifier, with the
    profile, flags unfamiliar at the standard sensitivity (the station's banner compares
    cases with it)."""
    from hemoscope.vision.lab_adapt import adapt_cells
    from hemoscope.vision.lab_cells import LabCells

    clf, crops, labels, _ = classifier_with_statistics(tmp_path, model_paths)
    cells = LabCells(classes=tuple(clf.classes))
    for i, (crop, label) in enumerate(zip(crops, labels, strict=True)):
        cells.add(crop, int(label), f"cell {i}", group=f"case {i % 6}")
    result = adapt_cells(clf, cells, models={"classifier": clf.card}, name="x", source="t")
    usual = result.profile.usual_unfamiliar
    assert usual is not None and usual.cells == len(crops)
    clf.set_profile(result.profile)
    flagged = ["unfamiliar" in r for r in clf.classify_crops(crops).reasons]
    assert 0 < sum(flagged) < len(flagged)
    assert usual.share == pytest.approx(np.mean(flagged), abs=1e-9)
    assert "Flagged unfamiliar:" in result.profile.usual_note()


def smear_field_like(seed: int) -> np.ndarray:
    """Something no class looks like: a grey smudge on noise."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (96, 96, 3)).astype(np.uint8)
    cv2.circle(img, (48, 48), 30, (128, 128, 128), -1)
    return img


def test_a_class_the_profile_never_saw_is_sent_to_review(
    tmp_path: Path, model_paths: tuple[Path, Path]
) -> None:
    from hemoscope.vision.classification_metrics import softmax
    from hemoscope.vision.classifier import Classifier
    from hemoscope.vision.lab_profile import NOT_LEARNT, LabProfile, model_identity

    _, clf_path = model_paths
    clf = Classifier(clf_path, threads=1)
    crops = np.stack([clf.crop_whole_image(lab_cell(c, s)) for s in range(8) for c in LAB_CLASSES])
    n_cls = len(clf.classes)
    dim = clf.logits_and_descriptor(crops[:1])[1].shape[1]
    bias = np.zeros(n_cls)
    bias[clf.classes.index("neutrophil")] = 20.0  # this laboratory: neutrophils, always
    profile = LabProfile(
        name="n", created="2026-12-05T06:00:00+00:00", classes=clf.classes,
        delta_weight=np.zeros((n_cls, dim)), delta_bias=bias, base_temperature=1.0,
        temperature=1.0, models={"classifier": model_identity(clf.card)},
        cells_per_class={"neutrophil": 30, "lymphocyte": 10},
    )  # fmt: skip
    logits, _ = clf.logits_and_embedding(crops)
    shipped = softmax(logits, clf.temperature)
    top = [clf.classes[i] for i in shipped.argmax(1)]
    clf.set_profile(profile)
    res = clf.classify_crops(crops)
    assert set(res.labels) == {"neutrophil"}
    for i, (name, p) in enumerate(zip(top, shipped.max(1), strict=True)):
        expected = name not in ("neutrophil", "lymphocyte") and p >= 0.5
        assert (NOT_LEARNT in res.reasons[i]) == expected
        assert res.review[i] or not expected
    assert any(NOT_LEARNT in r for r in res.reasons)
