"""Cross-lab measurement: the figures on hand-made predictions, and the benchmark script
end to end on a tiny generated laboratory."""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from benchmark_script import load_benchmark

from hemoscope.vision.cross_lab import MISSED, Prediction, SetResult, with_threshold

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "commands"))
from tiny_models import smear_field

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ("lymphocyte", "monocyte", "neutrophil")


def result() -> SetResult:
    r = SetResult("lab", "cells", CLASSES)
    r.predictions += [
        Prediction(0, 0, False, "", 0.99),
        Prediction(0, 0, False, "", 0.95),
        Prediction(0, 2, True, "low confidence", 0.55),
        Prediction(1, 1, True, "unfamiliar", 0.97),
        Prediction(2, 2, False, "", 0.80),
        Prediction(2, 0, False, "", 0.70),
        Prediction(2, -1, True, MISSED, 0.0),
    ]
    return r


def test_figures_from_hand_made_predictions() -> None:
    r = result()
    assert r.n == 7
    assert r.accuracy == pytest.approx(4 / 7)
    # recalls: lymphocyte 2/3, monocyte 1/1, neutrophil 1/3
    assert r.balanced_accuracy == pytest.approx((2 / 3 + 1 + 1 / 3) / 3)
    assert r.flagged_fraction == pytest.approx(3 / 7)
    assert r.accuracy_unflagged == pytest.approx(3 / 4)
    cm = r.confusion()
    assert cm.shape == (3, 4) and cm[2, 3] == 1 and cm[0, 2] == 1 and cm.sum() == 7
    assert r.reasons() == {"low confidence": 1, "unfamiliar": 1, MISSED: 1}
    d = r.as_dict()
    assert d["confusion"]["columns"][-1] == "none reported" and d["cells"] == 7


def test_a_review_threshold_applied_afterwards() -> None:
    r = with_threshold(result(), 0.75)
    # 0.70 (wrong) is now flagged; 0.55 stays flagged; the unfamiliar and missed stay.
    assert [p.flagged for p in r.predictions] == [False, False, True, True, False, True, True]
    assert r.accuracy_unflagged == pytest.approx(1.0)
    assert r.predictions[3].reason == "unfamiliar" and r.predictions[5].reason == "low confidence"
    none = with_threshold(result(), 0.0)
    assert none.predictions[2].flagged is False  # only low confidence flagged it
    assert math.isnan(with_threshold(SetResult("e", "cells", CLASSES), 0.5).accuracy_unflagged)


def _tiny_lab(root: Path, per_class: int = 3) -> tuple[Path, Path]:
    """A laboratory of fields and one of single-cell crops, two classes each."""
    fields, cells = root / "fields", root / "cells"
    for i, cls in enumerate(["Neutrophil", "LYMPHOCYTE"]):
        (fields / cls).mkdir(parents=True)
        (cells / cls).mkdir(parents=True)
        for j in range(per_class):
            img = smear_field(10 * i + j)
            cv2.imwrite(str(fields / cls / f"{j}.jpg"), img)
            cv2.imwrite(str(cells / cls / f"{j}.bmp"), img[150:330, 230:410])
    (cells / "unknown-class").mkdir()
    (fields / "Neutrophil" / "damaged.jpg").write_bytes(b"\xff\xd8 not a picture")
    return fields, cells


def test_benchmark_script_on_a_tiny_generated_lab(
    model_paths: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = load_benchmark("cross_lab")
    fields, cells = _tiny_lab(tmp_path)
    det, clf = model_paths
    out = tmp_path / "table.json"
    rc = bench.main(
        [
            "--data", str(tmp_path / "no-data"),
            "--detector", str(det), "--model", str(clf), "--threads", "1",
            "--set", f"tiny-fields=fields:{fields}", "--set", f"tiny-cells=cells:{cells}",
            "--json", str(out),
        ]
    )  # fmt: skip
    assert rc == 0
    table = json.loads(out.read_text())
    assert [t["name"] for t in table] == ["tiny-fields", "tiny-cells"]
    assert len(table[0]["unreadable"]) == 1 and "damaged.jpg" in table[0]["unreadable"][0]
    for t in table:
        assert t["cells"] == 6
        cm = np.array(t["confusion"]["matrix"])
        assert cm.sum() == 6 and cm.shape == (8, 9)
        assert t["accuracy"] == pytest.approx(np.trace(cm[:, :8]) / 6, abs=1e-4)
        assert 0.0 <= t["flagged_fraction"] <= 1.0
        assert sum(t["flag_reasons"].values()) >= round(t["flagged_fraction"] * 6)
    printed = capsys.readouterr().out
    assert (
        "tiny-fields" in printed and "unflagged right" in printed and "flagged by reason" in printed
    )


def test_benchmark_script_calibrates_each_set_both_ways(
    model_paths: tuple[Path, Path], tmp_path: Path
) -> None:
    """``--calibrate``: each set as the camera gave it, with its colour calibration as
    the station applies it (averaged with the camera's crop) and with the calibrated crop
    alone."""
    bench = load_benchmark("cross_lab")
    _, cells = _tiny_lab(tmp_path, per_class=6)
    det, clf = model_paths
    folder = tmp_path / "model"
    folder.mkdir()
    for f in (clf, clf.with_suffix(".json")):
        shutil.copy(f, folder / f.name)
    card = json.loads((folder / "classifier.json").read_text())
    card["colour_reference"] = {"mean": [150, 200, 120], "std": [50, 30, 60]}
    (folder / "classifier.json").write_text(json.dumps(card))
    out = tmp_path / "table.json"
    rc = bench.main(
        [
            "--data", str(tmp_path / "no-data"), "--calibrate",
            "--detector", str(det), "--model", str(folder / "classifier.onnx"),
            "--threads", "1", "--set", f"tiny=cells:{cells}", "--json", str(out),
        ]
    )  # fmt: skip
    assert rc == 0
    table = {t["name"]: t for t in json.loads(out.read_text())}
    assert list(table) == ["tiny", "tiny+colour", "tiny+colour alone"]
    assert all(t["cells"] == 12 for t in table.values())


def test_benchmark_script_without_data_says_so(tmp_path: Path) -> None:
    bench = load_benchmark("cross_lab")
    assert bench.main(["--data", str(tmp_path)]) == 1


def test_a_white_cell_labelled_twice_counts_once_in_the_kind_benchmark() -> None:
    """`benchmarks/wbc_reported.py`: two labelled white-cell boxes of one cell (IoU 0.67,
    as in a TXL-PBC validation field) are one cell; touching cells stay two."""
    bench = load_benchmark("wbc_reported")
    twice = np.array([[199, 78, 404, 252], [180, 95, 364, 252], [10, 10, 60, 60]], float)
    assert bench.distinct(twice).tolist() == [[199, 78, 404, 252], [10, 10, 60, 60]]
    touching = np.array([[0, 0, 100, 100], [60, 0, 160, 100]], float)  # IoU 0.25
    assert len(bench.distinct(touching)) == 2
    assert len(bench.distinct(np.zeros((0, 4)))) == 0


def test_turns_benchmark_scores_each_laboratory_in_each_view_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`benchmarks/turns.py` on a tiny generated pair of laboratories, shipped models."""
    bench = load_benchmark("turns")
    # Its scores are lab_adapt.Score's: accuracy, and recall averaged over classes present.
    score = bench.Score.of(np.array([0, 1, 1, 1]), np.array([0, 0, 1, 2]), ("a", "b", "c"))
    acc, bal = score.accuracy, score.balanced_accuracy
    assert acc == 0.5 and bal == pytest.approx((1.0 + 1 / 3) / 2)
    fields, cells = _tiny_lab(tmp_path / "made")
    labs = tmp_path / "data" / "other-labs"
    labs.mkdir(parents=True)
    (cells / "unknown-class").rmdir()  # lab_cells refuses folders matching no class
    cells.rename(labs / "jiangxi")
    fields.rename(labs / "bionet")
    model = ROOT / "models" / "classifier.onnx"
    rc = bench.main(["--data", str(tmp_path / "data"), "--model", str(model), "--turns", "1",
                     "2", "--threads", "1"])  # fmt: skip
    rows = [r.split() for r in capsys.readouterr().out.splitlines() if r.endswith(str(model))]
    assert rc == 0
    assert [(r[0], r[2]) for r in rows] == [
        ("jiangxi", "1"), ("jiangxi", "2"), ("bionet", "1"), ("bionet", "2"),
    ]  # fmt: skip
    assert all(r[1] == "6" for r in rows[:2])  # the six readable crops of two classes
