"""Seconds-long training runs end to end: train, resume, calibrate, export, load at run time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hemoscope.training.export_classifier import finalise as finalise_classifier  # noqa: E402
from hemoscope.training.export_classifier import refit_unfamiliar  # noqa: E402
from hemoscope.training.export_detector import finalise as finalise_detector  # noqa: E402
from hemoscope.training.train_classifier import ClassifierTrainConfig  # noqa: E402
from hemoscope.training.train_classifier import train as train_classifier  # noqa: E402
from hemoscope.training.train_detector import DetectorTrainConfig  # noqa: E402
from hemoscope.training.train_detector import train as train_detector  # noqa: E402
from hemoscope.vision.classifier import Classifier  # noqa: E402
from hemoscope.vision.detector import Detector  # noqa: E402
from hemoscope.vision.model_card import file_sha256  # noqa: E402


def test_classifier_trains_resumes_and_exports(cell_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cfg = ClassifierTrainConfig(data=str(cell_folder), out=str(out), epochs=1, batch=8, threads=1)
    first = train_classifier(cfg)
    assert len(first["history"]) == 1
    # Resuming with more epochs continues from the checkpoint instead of starting over.
    cfg2 = ClassifierTrainConfig(data=str(cell_folder), out=str(out), epochs=2, batch=8, threads=1)
    second = train_classifier(cfg2)
    assert [h["epoch"] for h in second["history"]] == [1, 2]
    split = json.loads((out / "split.json").read_text())
    assert len(split["val"]) == 8 and not set(split["val"]) & set(split["train"])
    card = finalise_classifier(out, cfg2, "test command")
    onnx = out / "classifier.onnx"
    assert card["sha256"] == file_sha256(onnx)
    assert card["metrics"]["onnx_torch_max_abs_diff"] < 1e-3
    assert card["temperature"] > 0 and 0.5 <= card["review_threshold"] <= 0.9
    assert {row["condition"] for row in card["metrics"]["stress"]} >= {"none", "bluer stain"}
    clf = Classifier(onnx)
    res = clf.classify_crops(np.zeros((3, clf.input_size, clf.input_size, 3), np.uint8))
    assert len(res) == 3 and np.allclose(res.probabilities.sum(1), 1.0)
    assert res.embedding.shape == (3, card["outputs"]["embedding"][1])
    assert card["outputs"]["features"] == ["n", 64 + 128] and len(card["features"]["scales"]) == 2
    assert clf.descriptor_size == 192 + 192 and card["unfamiliar"]["score"] == "mahalanobis"
    # The nearest-neighbour score, fitted afterwards for the exported model.
    entry = refit_unfamiliar(onnx, cell_folder, cfg2.seed, cfg2.val_fraction, "again", "nearest")
    assert entry["score"] == "nearest" and "Sun et al." in entry["method"]
    nearest = Classifier(onnx)
    assert nearest.unfamiliar is not None and nearest.unfamiliar.method == "nearest"
    assert np.isfinite(
        nearest.classify_crops(np.full((2, 128, 128, 3), 90, np.uint8)).unfamiliarity
    ).all()
    # One threshold per review sensitivity, each stricter than the last.
    levels = entry["thresholds"]
    assert list(levels) == ["standard", "high", "highest"]
    assert levels["standard"] == entry["threshold"] >= levels["high"] >= levels["highest"]
    assert entry["val_flagged_at"]["standard"] <= entry["val_flagged_at"]["highest"]
    strict = Classifier(onnx, sensitivity="highest")
    assert strict.sensitivity == "highest" and strict.unfamiliar is not None
    assert strict.unfamiliar.threshold == levels["highest"]


def test_detector_trains_and_exports(yolo_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "det"
    cfg = DetectorTrainConfig(
        data=str(yolo_folder), out=str(out), epochs=1, batch=3, canvas=128, threads=1
    )
    hist = train_detector(cfg)["history"]
    assert hist[0]["epoch"] == 1 and "val" in hist[0]
    card = finalise_detector(out, cfg, "test command")
    assert card["sha256"] == file_sha256(out / "detector.onnx")
    assert card["metrics"]["onnx_torch_max_diff"] < 1e-3
    det = Detector(out / "detector.onnx")
    d = det.detect(np.zeros((50, 70, 3), np.uint8))
    assert d.boxes.shape[1] == 4 and len(d.classes) == len(d.scores)


@pytest.mark.parametrize("kind", ["detector", "classifier"])
def test_training_fine_tunes_from_earlier_weights(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from hemoscope.training.classifier_model import CellClassifier
    from hemoscope.training.detector_model import CellDetector

    # Weights no seeded initialisation would give: every parameter set to 0.01.
    model = CellDetector(3) if kind == "detector" else CellClassifier(8)
    start = {k: (torch.full_like(v, 0.01) if v.is_floating_point() else v)
             for k, v in model.state_dict().items()}  # fmt: skip
    torch.save({"model": start, "epoch": 0}, tmp_path / "init.pt")
    out, init = tmp_path / "b", str(tmp_path / "init.pt")
    if kind == "detector":
        train_detector(DetectorTrainConfig(
            data=str(request.getfixturevalue("yolo_folder")), out=str(out), epochs=1, batch=3,
            canvas=128, threads=1, lr=1e-9, init=init, min_visible=0.0,
        ))  # fmt: skip
    else:
        train_classifier(ClassifierTrainConfig(
            data=str(request.getfixturevalue("cell_folder")), out=str(out), epochs=1, batch=8,
            threads=1, lr=1e-9, init=init, tight_views=0.5,
        ))  # fmt: skip
    end = torch.load(out / "best.pt", map_location="cpu", weights_only=False)
    # With a vanishing learning rate the tuned weights stay those it started from (the
    # batch-norm statistics follow the data whatever the rate).
    for name, value in start.items():
        if value.dtype.is_floating_point and "running_" not in name:
            assert torch.allclose(value, end["model"][name], atol=1e-4), name


def test_detector_soup_averages_runs_and_exports(yolo_folder: Path, tmp_path: Path) -> None:
    from hemoscope.training.cli import main as training_main
    from hemoscope.training.detector_model import CellDetector

    runs, states = [], []
    for seed, name in enumerate("ab"):
        torch.manual_seed(seed)
        states.append(CellDetector(3).state_dict())
        (tmp_path / name).mkdir()
        torch.save({"model": states[-1], "epoch": 3, "classes": ["wbc", "rbc", "platelet"]},
                   tmp_path / name / "best.pt")  # fmt: skip
        runs.append(tmp_path / name)
    out = tmp_path / "soup"
    args = ["detector-soup", "--data", str(yolo_folder), "--out", str(out), "--runs"]
    assert training_main([*args, *map(str, runs), "--weights", "0.25", "0.75"]) == 0
    soup = torch.load(out / "best.pt", map_location="cpu", weights_only=False)
    for name, value in soup["model"].items():
        if value.is_floating_point():
            expected = 0.25 * states[0][name] + 0.75 * states[1][name]
            assert torch.allclose(value, expected, atol=1e-6), name
    card = json.loads((out / "detector.json").read_text())
    assert card["sha256"] == file_sha256(out / "detector.onnx")
    assert card["training"]["weights"] == [0.25, 0.75]
    assert [m["run"] for m in card["training"]["members"]] == [str(r) for r in runs]
    assert "detector-soup" in card["training"]["command"]
    assert "map50" in card["metrics"]["val"]


def test_classifier_stops_early_in_a_longer_schedule_on_a_shared_split(
    cell_folder: Path, tmp_path: Path
) -> None:
    """``stop_after`` trains the first epochs of the ``epochs`` schedule (its learning
    rate is that schedule's, not a shorter one's); ``split_seed`` keeps the validation
    split while the seed changes the run."""
    common = {"data": str(cell_folder), "batch": 8, "threads": 1}
    whole = train_classifier(ClassifierTrainConfig(out=str(tmp_path / "a"), epochs=1, **common))
    part = train_classifier(
        ClassifierTrainConfig(
            out=str(tmp_path / "b"),
            epochs=4,
            stop_after=1,
            seed=7,
            split_seed=20261122,
            **common,
        )
    )
    assert [h["epoch"] for h in part["history"]] == [1]
    assert part["history"][0]["lr"] != pytest.approx(whole["history"][0]["lr"])
    split_a = json.loads((tmp_path / "a" / "split.json").read_text())
    split_b = json.loads((tmp_path / "b" / "split.json").read_text())
    assert split_a["val"] == split_b["val"] and split_b["seed"] == 20261122
    other = train_classifier(
        ClassifierTrainConfig(out=str(tmp_path / "c"), epochs=4, stop_after=1, seed=7, **common)
    )
    split_c = json.loads((tmp_path / "c" / "split.json").read_text())
    assert split_c["val"] != split_a["val"] and other["history"][0]["epoch"] == 1
    with pytest.raises(SystemExit, match="--stop-after"):
        train_classifier(ClassifierTrainConfig(out=str(tmp_path / "d"), stop_after=-1, **common))


def test_a_killed_detector_run_resumes_where_it_would_have_been(
    yolo_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed right after its first epoch's checkpoint, a run started again with the same
    ``--out`` ends with the weights of the run that was never stopped."""
    from hemoscope.training.common import TrainState

    class Killed(Exception):
        pass

    common = {"data": str(yolo_folder), "epochs": 2, "batch": 3, "canvas": 128, "threads": 1}
    train_detector(DetectorTrainConfig(out=str(tmp_path / "whole"), **common))
    save = TrainState.save

    def save_then_die(self: TrainState, *args: Any, **kwargs: Any) -> None:
        save(self, *args, **kwargs)
        raise Killed

    monkeypatch.setattr(TrainState, "save", save_then_die)
    with pytest.raises(Killed):
        train_detector(DetectorTrainConfig(out=str(tmp_path / "killed"), **common))
    monkeypatch.undo()
    resumed = train_detector(DetectorTrainConfig(out=str(tmp_path / "killed"), **common))
    assert [h["epoch"] for h in resumed["history"]] == [1, 2]
    runs = [
        torch.load(tmp_path / r / "last.ckpt", map_location="cpu", weights_only=False)
        for r in ("whole", "killed")
    ]
    for key, value in runs[0]["model"].items():
        torch.testing.assert_close(value, runs[1]["model"][key])
