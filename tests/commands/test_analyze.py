"""``hemoscope analyze``: outputs, schema, table, progress, options, exit codes."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import cv2
import pytest
from analyze_schema import check_document
from analyze_testing import SHARED_DATA, Runner
from tiny_models import REVIEW_THRESHOLD, smear_field

from hemoscope.commands.analyze_output import CELL_COLUMNS, SUMMARY_COLUMNS, safe_cell
from hemoscope.core import DEFAULT_TAXONOMY


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_outputs_follow_the_schema_and_agree(run_analyze: Runner, field_folder: Path) -> None:
    out = field_folder.parent
    res = run_analyze(
        field_folder,
        "--json", out / "r.json", "--csv", out / "cells.csv", "--summary", out / "sum.csv",
        "--wbc-factor", "2000", "--target", "5",
    )  # fmt: skip
    assert res.code == 0, res.err
    doc = json.loads((out / "r.json").read_text(encoding="utf-8"))
    check_document(doc, REVIEW_THRESHOLD)
    names = [Path(i["file"]).name for i in doc["images"]]
    assert names == ["field1.jpg", "field2.png", "field3.jpg"]
    assert all(i["status"] == "ok" and i["width"] == 640 for i in doc["images"])
    n_cells = sum(len(i["cells"]) for i in doc["images"])
    assert n_cells > 0 and doc["differential"]["target"] == 5
    wbc = doc["estimates"]["wbc"]
    assert wbc["factor"] == 2000 and wbc["is_estimate"] is True
    assert doc["models"]["detector"]["name"] == "tiny-detector"
    # One CSV row per cell, the same cells in the same order.
    rows = read_csv(out / "cells.csv")
    assert list(rows[0]) == list(CELL_COLUMNS) and len(rows) == n_cells
    cells = [c for i in doc["images"] for c in i["cells"]]
    assert [r["class"] or None for r in rows] == [c["class"] for c in cells]
    assert [float(r["x2"]) for r in rows] == [c["box"][2] for c in cells]
    # One summary row per class, matching the differential.
    summary = read_csv(out / "sum.csv")
    assert list(summary[0]) == list(SUMMARY_COLUMNS)
    assert [r["class"] for r in summary] == list(DEFAULT_TAXONOMY.ids)
    for r in summary:
        assert int(r["count"]) == doc["differential"]["classes"][r["class"]]["count"]
    # The table on stdout: every differential class, and the estimates marked as such.
    assert "3 images analysed" in res.out
    for cls in DEFAULT_TAXONOMY.classes:
        if cls.in_differential:
            assert cls.display_name in res.out
    assert "Estimates (from cells per field; not counts)" in res.out
    assert "platelets" in res.out and "/µL" in res.out
    assert not list(out.glob(".*.tmp")), "temporary files left behind"


def test_all_images_are_one_case(run_analyze: Runner, field_folder: Path, tmp_path: Path) -> None:
    single = []
    for f in sorted(field_folder.iterdir()):
        assert run_analyze(f, "--json", tmp_path / "one.json", "--quiet").code == 0
        single.append(json.loads((tmp_path / "one.json").read_text())["differential"])
    files = sorted(field_folder.iterdir())
    assert run_analyze(*files, "--json", tmp_path / "all.json").code == 0
    together = json.loads((tmp_path / "all.json").read_text())["differential"]
    for cid, row in together["classes"].items():
        assert row["count"] == sum(d["classes"][cid]["count"] for d in single)
    assert together["total"] == sum(d["total"] for d in single)


def test_safe_cell_quotes_what_a_spreadsheet_would_evaluate() -> None:
    assert safe_cell("=1+2") == "'=1+2" and safe_cell("\tx") == "'\tx"
    assert safe_cell("\rx") == "'\rx" and safe_cell("-x") == "'-x" and safe_cell("@x") == "'@x"
    assert safe_cell("+x") == "'+x" and safe_cell("ok=1") == "ok=1"
    assert safe_cell(1.5) == 1.5 and safe_cell(None) == "" and safe_cell(True) == "yes"


@pytest.mark.parametrize("name", ["=HYPERLINK(1).png", "+1.png", "-2.png", "@SUM(A1).png"])
def test_csv_file_names_cannot_become_formulas(
    run_analyze: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.chdir(tmp_path)  # relative names start with the dangerous character
    cv2.imwrite(name, smear_field(2))
    assert run_analyze("--csv", "c.csv", "--", name).code == 0
    rows = read_csv(tmp_path / "c.csv")
    assert rows and all(r["file"] == "'" + name for r in rows)
    doc_rows = run_analyze("--json", "r.json", "--", name)
    assert doc_rows.code == 0
    assert json.loads(Path("r.json").read_text())["images"][0]["file"] == name


def test_progress_bar_for_more_than_a_few_files(run_analyze: Runner, tmp_path: Path) -> None:
    for i in range(5):
        cv2.imwrite(str(tmp_path / f"f{i}.jpg"), smear_field(i, 120, 160))
    res = run_analyze(tmp_path)
    assert "analysing [" in res.err and "5/5 (100%)" in res.err
    assert "analysing" not in run_analyze(tmp_path, "--quiet").err
    few = run_analyze(tmp_path / "f0.jpg", tmp_path / "f1.jpg")
    assert few.code == 0 and "analysing" not in few.err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--target", "0", "--target must be greater than 0"),
        ("--target", "ten", "--target must be a whole number"),
        ("--platelet-factor", "-5", "greater than 0"),
        ("--wbc-factor", "nan", "greater than 0"),
        ("--threads", "1.5", "whole number"),
        ("--max-megapixels", "0", "greater than 0"),
    ],
)
def test_wrong_option_values_exit_1(
    run_analyze: Runner, field_folder: Path, option: str, value: str, message: str
) -> None:
    res = run_analyze(field_folder, option, value)
    assert res.code == 1 and message in res.err and res.out == ""


def test_wrong_arguments_exit_1(run_analyze: Runner, field_folder: Path, tmp_path: Path) -> None:
    assert run_analyze().code == 1
    res = run_analyze(field_folder, "--json", tmp_path / "missing" / "r.json")
    assert res.code == 1 and "does not exist" in res.err
    res = run_analyze(field_folder, "--json", tmp_path / "x", "--csv", tmp_path / "x")
    assert res.code == 1 and "same file" in res.err
    res = run_analyze(field_folder, "--json", tmp_path)
    assert res.code == 1 and "is a folder" in res.err
    res = run_analyze(field_folder, "--detector", tmp_path / "none.onnx", models=False)
    assert res.code == 1 and "model file not found" in res.err


def test_a_failed_run_leaves_earlier_results_alone(
    run_analyze: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field_folder: Path
) -> None:
    from hemoscope.vision.pipeline import Pipeline

    old = tmp_path / "r.json"
    old.write_text("earlier results")

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Pipeline, "analyze", interrupted)
    res = run_analyze(field_folder, "--json", old, "--csv", tmp_path / "c.csv")
    assert res.code == 130 and "interrupted" in res.err
    assert old.read_text() == "earlier results" and not (tmp_path / "c.csv").exists()
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.data
def test_real_fields_from_shared_data(run_analyze: Runner, tmp_path: Path) -> None:
    val = SHARED_DATA / "txl-pbc" / "images" / "val"
    if not val.is_dir():
        pytest.skip("../shared/data is absent")
    for path in sorted(val.glob("*.jpg"))[:8]:
        shutil.copy(path, tmp_path / path.name)
    res = run_analyze(tmp_path, "--json", tmp_path / "r.json")
    assert res.code == 0, res.err
    doc = json.loads((tmp_path / "r.json").read_text())
    check_document(doc, REVIEW_THRESHOLD)
    sizes = {(i["width"], i["height"]) for i in doc["images"]}
    for path in sorted(val.glob("*.jpg"))[:8]:
        h, w = cv2.imread(str(path)).shape[:2]
        assert (w, h) in sizes


@pytest.mark.data
def test_shipped_models_count_known_white_cells(run_analyze: Runner, tmp_path: Path) -> None:
    """PBC images of two known classes, analysed as one case, give about half each."""
    from hemoscope.vision.model_card import models_dir

    if not all((models_dir() / f"{m}.onnx").is_file() for m in ("detector", "classifier")):
        pytest.skip("the shipped models (models/*.onnx) are not there yet")
    if not (SHARED_DATA / "pbc").is_dir():
        pytest.skip("../shared/data is absent")
    for cls in ("lymphocyte", "eosinophil"):
        for path in sorted((SHARED_DATA / "pbc" / cls).glob("*.jpg"))[:8]:
            shutil.copy(path, tmp_path / f"{cls}_{path.name}")
    res = run_analyze("--json", tmp_path / "r.json", tmp_path, models=False)
    assert res.code == 0, res.err
    diff = json.loads((tmp_path / "r.json").read_text())["differential"]
    counts = {c: r["count"] for c, r in diff["classes"].items()}
    assert counts["lymphocyte"] >= 6 and counts["eosinophil"] >= 6, counts
    assert diff["total"] <= 20, counts


def test_the_hemoscope_command_runs_analyze(
    model_paths: tuple[Path, Path], field_folder: Path, tmp_path: Path
) -> None:
    """Through ``python -m hemoscope`` once the CLI registers the command."""
    import subprocess
    import sys

    from analyze_testing import REPO

    from hemoscope import cli

    if "analyze" not in _registered(cli):
        pytest.skip("`analyze` is not registered in hemoscope.cli yet")
    det, clf = model_paths
    argv = ["analyze", "--detector", det, "--classifier", clf, "--json", tmp_path / "r.json"]
    proc = subprocess.run(
        [sys.executable, "-m", "hemoscope", *map(str, argv), str(field_folder)],
        capture_output=True, text=True, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    check_document(json.loads((tmp_path / "r.json").read_text()), REVIEW_THRESHOLD)
    assert "3 images analysed" in proc.stdout


def _registered(cli: object) -> set[str]:
    import argparse

    p = argparse.ArgumentParser()
    sub = p.add_subparsers()
    for register in getattr(cli, "COMMAND_REGISTRARS", []):
        register(sub)
    return set(sub.choices)


def test_rbc_diameter_reaches_the_pipeline(
    run_analyze: Runner, field_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hemoscope.vision.pipeline import Pipeline

    seen: list[float | None] = []
    real = Pipeline.analyze

    def spy(self: Pipeline, *args: object, **kwargs: object) -> object:
        seen.append(self.rbc_diameter)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "analyze", spy)
    res = run_analyze("--rbc-diameter", "30", "--json", tmp_path / "r.json", field_folder)
    assert res.code == 0 and seen == [30.0] * 3
    check_document(json.loads((tmp_path / "r.json").read_text()), REVIEW_THRESHOLD)
    assert run_analyze("--rbc-diameter", "0", field_folder).code == 1
