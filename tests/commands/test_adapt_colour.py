"""``hemoscope adapt --colour-only``: a microscope's colour calibration from its white cells,
no labels; used by classify --lab; bad inputs; every case of a database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from adapt_data import make_lab

from hemoscope.cli import main
from hemoscope.vision.lab_profile import LabProfile

REFERENCE = {"mean": [200.0, 180.0, 190.0], "std": [40.0, 50.0, 30.0]}


@pytest.fixture
def models(model_paths: tuple[Path, Path], tmp_path: Path) -> list[str]:
    """The tiny models, the classifier's card given a colour reference."""
    det, clf = model_paths
    for suffix in (".onnx", ".json"):
        shutil.copy(clf.with_suffix(suffix), tmp_path / f"classifier{suffix}")
    card_path = tmp_path / "classifier.json"
    card = json.loads(card_path.read_text())
    card["colour_reference"] = REFERENCE
    card_path.write_text(json.dumps(card))
    return ["--detector", str(det), "--model", str(tmp_path / "classifier.onnx"), "--threads", "1"]


def adapt(models: list[str], *args: str | Path) -> int:
    return main(["adapt", "--colour-only", *map(str, args), *models, "--quiet"])


def test_colour_only_profile_from_unlabelled_images_is_used_by_classify(
    tmp_path: Path, models: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    lab = make_lab(tmp_path / "lab", 5, seed=0)  # 15 images; their folders are not read
    profile = tmp_path / "scope.json"
    assert adapt(models, "--data", lab, "--out", profile, "--name", "Scope 2") == 0
    out = capsys.readouterr().out
    assert "15 white cells" in out and "gains" in out
    assert "No neighbours: 15 white cells, at least 50 are needed" in out
    assert "Wrote colour calibration 'Scope 2'" in out
    saved = LabProfile.load(profile)
    assert saved.colour is not None and saved.cells == 15
    assert saved.colour.reference.mean == tuple(REFERENCE["mean"])
    assert not saved.delta_weight.any() and not saved.cells_per_class

    result = tmp_path / "out.json"
    clf_args = [*models, "--lab", str(profile), "--json", str(result)]
    assert main(["classify", str(lab), "--recursive", *clf_args]) == 0
    report = json.loads(result.read_text())
    assert report["lab_profile"]["sha256"] == saved.sha256
    assert "colour calibration" in report["lab_profile"]["version"]

    # evaluate takes the same profile; its figures say which profile they were taken with.
    metrics = tmp_path / "metrics.json"
    assert main(["evaluate", "classifier", "--data", str(lab), *models, "--lab", str(profile),
                 "--json", str(metrics)]) == 0  # fmt: skip
    measured = json.loads(metrics.read_text())
    assert measured["images"] == 15 and measured["lab_profile"]["sha256"] == saved.sha256


def test_with_enough_cells_the_profile_keeps_them_as_neighbours(
    tmp_path: Path, models: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    lab = make_lab(tmp_path / "lab", 18, seed=4)  # 54 images
    for path in sorted(lab.rglob("*.png"))[::6]:  # 9 of them out of focus
        cv2.imwrite(str(path), cv2.GaussianBlur(cv2.imread(str(path)), (0, 0), 12))
    profile = tmp_path / "scope.json"
    assert adapt(models, "--data", lab, "--out", profile) == 0
    out = capsys.readouterr().out
    assert "Neighbours: 54 of the cells" in out
    assert "Wrote colour calibration + 54 neighbour cells 'scope'" in out
    saved = LabProfile.load(profile)
    assert saved.neighbours is not None and saved.neighbours.cells == 54
    result = tmp_path / "out.json"
    assert main(["classify", str(lab), "--recursive", *models, "--lab", str(profile),
                 "--json", str(result)]) == 0  # fmt: skip
    report = json.loads(result.read_text())
    assert "54 neighbour cells" in report["lab_profile"]["version"]
    # The usual unfamiliar share is the share of these cells classify flags unfamiliar
    # (or out of focus) with the profile, at the standard sensitivity.
    usual = saved.usual_unfamiliar
    assert usual is not None and usual.cells == 54
    odd = [c for c in report["images"] if "unfamiliar" in (c.get("review_reason") or "")]
    assert len(odd) > 5 and usual.share == pytest.approx(len(odd) / 54, abs=1e-4)
    assert f"Flagged unfamiliar: {usual.share:.0%} of 54" in out

    plain = tmp_path / "plain.json"
    assert adapt(models, "--data", lab, "--out", plain, "--no-neighbours") == 0
    assert "Neighbours" not in capsys.readouterr().out
    assert LabProfile.load(plain).neighbours is None
    assert LabProfile.load(plain).usual_unfamiliar == usual  # measured without them too
    labelled = ["adapt", "--data", str(lab), "--out", str(tmp_path / "l.json"), "--no-neighbours"]
    assert main([*labelled, *models]) == 1
    assert "--no-neighbours goes with --colour-only" in capsys.readouterr().err


def test_a_large_collection_is_sampled_not_held_whole(
    tmp_path: Path, models: list[str], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Beyond `MAX_CROPS` white cells, a random sample of them is kept (memory stays
    bounded for a year of cases); the output says how many were found and used."""
    from hemoscope.vision import microscope_cells

    monkeypatch.setattr(microscope_cells, "MAX_CROPS", 10)
    lab = make_lab(tmp_path / "lab", 5, seed=5)  # 15 images
    profile = tmp_path / "scope.json"
    assert adapt(models, "--data", lab, "--out", profile, "--json", tmp_path / "r.json") == 0
    assert "15 white cells (a random 10 of them used)" in capsys.readouterr().out
    assert LabProfile.load(profile).cells == 10
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["cells"] == 15 and report["used"] == 10

    sample = microscope_cells._Sample(limit=4, seed=1)
    sample.add(np.full((1, 1, 3), i, np.uint8) for i in range(100))
    kept = sorted(int(c[0, 0, 0]) for c in sample.items)
    assert sample.seen == 100 and len(kept) == 4 and len(set(kept)) == 4
    again = microscope_cells._Sample(limit=4, seed=1)
    again.add(np.full((1, 1, 3), i, np.uint8) for i in range(100))
    assert sorted(int(c[0, 0, 0]) for c in again.items) == kept  # the same stream, the same
    assert max(kept) > 3  # not simply the first four


def test_colour_only_bad_inputs(
    tmp_path: Path, models: list[str], model_paths: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    few = make_lab(tmp_path / "few", 3, seed=1)  # 9 cells
    assert adapt(models, "--data", few, "--out", tmp_path / "a.json") == 1
    assert "at least 10 white cells" in capsys.readouterr().err
    assert adapt(models, "--data", tmp_path / "nowhere", "--out", tmp_path / "b.json") == 1
    assert "no such folder" in capsys.readouterr().err
    bare = ["--detector", str(model_paths[0]), "--model", str(model_paths[1])]
    lab = make_lab(tmp_path / "lab", 5, seed=2)
    assert adapt(bare, "--data", lab, "--out", tmp_path / "c.json") == 1
    assert "no colour_reference" in capsys.readouterr().err
    assert not any((tmp_path / n).exists() for n in ("a.json", "b.json", "c.json"))


def test_colour_only_from_a_database_takes_every_case_signed_off_or_not(
    tmp_path: Path, models: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from adapt_db import case_database

    from hemoscope.core import CellKind
    from hemoscope.store import CaseStore
    from hemoscope.store.verified import white_cell_fields

    db, _ = case_database(tmp_path / "cases.db")
    with CaseStore.open(db) as store:
        found = list(white_cell_fields(store))
    assert {v.sample_id for v in found} == {"S-1", "S-2"}
    assert all(c.kind is CellKind.WBC and c.counted for v in found for c in v.cells)
    assert "f-again" not in {v.field.id for v in found}  # cells already counted: left out
    white = sum(len(v.cells) for v in found)
    out = tmp_path / "db.json"
    assert adapt(models, "--db", db, "--out", out) == 0
    assert f"{white} white cells" in capsys.readouterr().out
    assert LabProfile.load(out).cells == white


def test_a_labelled_adapt_tries_the_colour_calibration_too(
    tmp_path: Path, models: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    lab = make_lab(tmp_path / "lab", 8, seed=3)
    out = tmp_path / "lab.json"
    # Not quiet: the progress bar follows both variants' measuring to its end.
    assert main(["adapt", "--data", str(lab), "--out", str(out), *models]) == 0
    captured = capsys.readouterr()
    assert "24 labelled cells" in captured.out and "measuring cells" in captured.err
    validation = LabProfile.load(out).validation
    assert set(validation["variants"]) == {"camera colours", "colour calibrated"}
    cal, raw = (
        validation["variants"][k]["accuracy"] for k in ("colour calibrated", "camera colours")
    )
    assert validation["chosen"] == ("colour calibrated" if cal > raw else "camera colours")
    assert f"kept: {validation['chosen']}" in captured.out
