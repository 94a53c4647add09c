"""`hemoscope classify` and `hemoscope evaluate` end to end with the shipped models."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from hemoscope.cli import main

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _cell_image(colour: tuple[int, int, int]) -> np.ndarray:
    img = np.full((200, 200, 3), (225, 215, 235), np.uint8)
    cv2.circle(img, (100, 100), 45, colour, -1)
    return img


@pytest.fixture
def crops(tmp_path: Path) -> Path:
    """A folder of cell-crop images plus one corrupt and one empty file."""
    folder = tmp_path / "crops ü"
    folder.mkdir()
    if DATA.is_dir():
        for cls in ("neutrophil", "lymphocyte"):
            src = sorted((DATA / "pbc" / cls).iterdir())[0]
            (folder / f"{cls}.jpg").write_bytes(src.read_bytes())
    else:
        cv2.imwrite(str(folder / "a.png"), _cell_image((150, 60, 90)))
        cv2.imwrite(str(folder / "b.png"), _cell_image((120, 40, 140)))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "empty.png").write_bytes(b"")
    return folder


def test_classify_reports_each_image_and_failures(
    crops: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.json"
    status = main(["classify", str(crops), "--json", str(out)])
    assert status == 2  # some files failed, the rest were classified
    data = json.loads(out.read_text(encoding="utf-8"))
    by_name = {Path(r["file"]).name: r for r in data["images"]}
    assert by_name["broken.jpg"]["status"] == "error" and by_name["broken.jpg"]["error"]
    assert by_name["empty.png"]["status"] == "error"
    ok = [r for r in data["images"] if r["status"] == "ok"]
    assert len(ok) == 2
    for r in ok:
        assert 0.0 < r["probability"] <= 1.0 and isinstance(r["review"], bool)
        assert abs(sum(r["probabilities"].values()) - 1.0) < 1e-3
        # Why a cell may be flagged unfamiliar: its embedding's distance and its focus.
        assert r["unfamiliarity"] > 0 and 0 < r["blur_width"] < 4.5
    if DATA.is_dir():
        assert by_name["neutrophil.jpg"]["class"] == "neutrophil"
        assert by_name["lymphocyte.jpg"]["class"] == "lymphocyte"
    captured = capsys.readouterr()
    assert "broken.jpg" in captured.err


def test_a_picture_without_a_cell_is_sent_to_review(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 200, 3), 200, np.uint8))
    out = tmp_path / "out.json"
    assert main(["classify", str(blank), "--json", str(out)]) == 0
    row = json.loads(out.read_text(encoding="utf-8"))["images"][0]
    assert row["framing"] == "no cell found"
    assert row["review"] is True and row["review_reason"] == "no cell found"
    assert "yes: no cell found" in capsys.readouterr().out


def test_a_cell_far_out_of_focus_is_flagged_unfamiliar_with_its_blur_width(
    tmp_path: Path,
) -> None:
    blurred = tmp_path / "blurred.png"
    cv2.imwrite(str(blurred), cv2.GaussianBlur(_cell_image((120, 40, 140)), (0, 0), 12))
    out = tmp_path / "out.json"
    assert main(["classify", str(blurred), "--json", str(out)]) == 0
    row = json.loads(out.read_text(encoding="utf-8"))["images"][0]
    assert row["blur_width"] > 4.5
    assert row["review"] is True and "unfamiliar" in row["review_reason"]


def test_classify_with_nothing_readable_fails(tmp_path: Path) -> None:
    (tmp_path / "x.jpg").write_bytes(b"nope")
    assert main(["classify", str(tmp_path / "x.jpg")]) == 1


def test_evaluate_classifier_maps_folder_names_and_reports_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "set"
    names = {
        "Neutrophil": (150, 60, 90),
        "LYMPHOCYTES": (120, 40, 140),
        "band_cells": (140, 50, 100),
        "Macrophage": (90, 90, 90),
    }
    for folder, colour in names.items():
        (root / folder).mkdir(parents=True)
        for i in range(3):
            cv2.imwrite(str(root / folder / f"{i}.png"), _cell_image(colour))
    js, png = tmp_path / "m.json", tmp_path / "cm.png"
    assert (
        main(["evaluate", "classifier", "--data", str(root), "--json", str(js), "--png", str(png)])
        == 0
    )
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["images"] == 9  # Macrophage matches no class and is not counted
    assert data["unmatched_folders"] == ["Macrophage"]
    assert data["folders_counted_as"] == {"band_cells": "neutrophil"}
    assert sum(map(sum, data["confusion"]["matrix"])) == 9
    assert 0.0 <= data["accuracy"] <= 1.0
    # The flagged fraction beside the accuracy, and the flags counted by reason.
    assert 0.0 <= data["flagged_fraction"] <= 1.0 and 0.0 <= data["balanced_accuracy"] <= 1.0
    assert sum(data["flagged_by_reason"].values()) >= round(data["flagged_fraction"] * 9)
    captured = capsys.readouterr()
    assert "Macrophage" in captured.err and "flagged for review" in captured.out
    img = cv2.imread(str(png))
    assert img is not None and img.shape[0] > 100


def test_evaluate_classifier_on_the_training_split(tmp_path: Path) -> None:
    root = tmp_path / "set"
    for folder, colour in {"neutrophil": (150, 60, 90), "lymphocyte": (120, 40, 140)}.items():
        (root / folder).mkdir(parents=True)
        for i in range(20):
            cv2.imwrite(str(root / folder / f"{i}.png"), _cell_image(colour))
    counts = {}
    for split in ("all", "val", "train"):
        js = tmp_path / f"{split}.json"
        args = ["evaluate", "classifier", "--data", str(root), "--json", str(js)]
        assert main([*args, "--split", split, "--val-fraction", "0.25"]) == 0
        counts[split] = json.loads(js.read_text(encoding="utf-8"))["images"]
    assert counts == {"all": 40, "val": 10, "train": 30}  # 25 % of each class


def test_evaluate_detector_on_a_flat_yolo_folder(tmp_path: Path) -> None:
    root = tmp_path / "yolo"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    if DATA.is_dir():
        val = DATA / "txl-pbc"
        for p in sorted((val / "images" / "val").iterdir())[:6]:
            (root / "images" / p.name).write_bytes(p.read_bytes())
            (root / "labels" / (p.stem + ".txt")).write_bytes(
                (val / "labels" / "val" / (p.stem + ".txt")).read_bytes()
            )
    else:
        cv2.imwrite(str(root / "images" / "f.png"), _cell_image((150, 60, 90)))
        (root / "labels" / "f.txt").write_text("0 0.5 0.5 0.45 0.45\n")
    js = tmp_path / "d.json"
    assert main(["evaluate", "detector", "--data", str(root), "--json", str(js)]) == 0
    data = json.loads(js.read_text(encoding="utf-8"))
    assert set(data["ap50"]) == {"wbc", "rbc", "platelet"}
    assert 0.0 <= data["map50"] <= 1.0 and data["images"] >= 1
    if DATA.is_dir():
        assert data["ap50"]["wbc"] > 0.8


def test_evaluate_detector_on_a_missing_folder_fails_cleanly(tmp_path: Path) -> None:
    assert main(["evaluate", "detector", "--data", str(tmp_path / "nowhere")]) == 1


def test_train_is_a_registered_command() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["train", "detector", "--help"])
    assert exc.value.code == 0
