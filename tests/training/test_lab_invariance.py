"""Training parts aimed at other laboratories: luminance-only input, extra training
folders, domain-adversarial training and TXL-PBC's cells by source."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hemoscope.training.classifier_model import CellClassifier, set_colour  # noqa: E402
from hemoscope.training.domain_adversarial import (  # noqa: E402
    USUAL_DIFFERENTIAL,
    DomainHead,
    class_weights,
    confusion_loss,
    domain_loss,
    load_domains,
    reversal_weight,
    reverse_gradient,
)
from hemoscope.training.export_classifier import finalise as finalise_classifier  # noqa: E402
from hemoscope.training.pbc_data import load_all  # noqa: E402
from hemoscope.training.pseudo_labels import source_cells, write_domains  # noqa: E402
from hemoscope.training.train_classifier import ClassifierTrainConfig, extra_samples  # noqa: E402
from hemoscope.training.train_classifier import train as train_classifier  # noqa: E402


def test_grey_input_sees_luminance_not_hue() -> None:
    torch.manual_seed(0)
    model = set_colour(CellClassifier(8), "grey").eval()
    # Two pictures of the same luminance (BT.601), one bluish, one greenish.
    blue = torch.zeros(1, 3, 32, 32)
    blue[:, 2] = 1.0  # Y = 0.114
    green = torch.zeros(1, 3, 32, 32)
    green[:, 1] = 0.114 / 0.587  # Y = 0.114
    assert torch.allclose(model(blue), model(green), atol=1e-5)
    rgb = set_colour(CellClassifier(8), "rgb").eval()
    rgb.load_state_dict(model.state_dict())  # the same weights move between the two
    assert not torch.allclose(rgb(blue), rgb(green), atol=1e-3)
    with pytest.raises(SystemExit):
        set_colour(CellClassifier(8), "sepia")


def test_extra_folders_add_training_images_repeated(cell_folder: Path) -> None:
    once = extra_samples((str(cell_folder),))
    thrice = extra_samples((f"{cell_folder}:3",))
    assert len(once) == 48 and len(thrice) == 3 * 48
    images = load_all(thrice)  # each file decoded once, its repeats share the array
    assert len(images) == 3 * 48 and images[0] is images[48] is images[96]
    assert {s.label for s in once} == set(range(8))
    with pytest.raises(SystemExit):
        extra_samples((str(cell_folder / "neutrophil"),))  # no class folders in it


def test_gradient_reversal_and_its_schedule() -> None:
    x = torch.ones(3, requires_grad=True)
    reverse_gradient(x, 0.5).sum().backward()
    assert torch.allclose(x.grad, torch.full((3,), -0.5))
    assert reversal_weight(0.0, 0.3) == 0.0
    assert 0.29 < reversal_weight(1.0, 0.3) <= 0.3
    assert reversal_weight(0.1, 1.0) < reversal_weight(0.5, 1.0)


def test_class_weights_make_the_labelled_mixture_the_prior() -> None:
    classes = ("a", "b", "c")
    labels = np.array([0] * 50 + [1] * 30 + [2] * 20)
    w = class_weights(labels, classes, {"a": 0.1, "b": 0.6, "c": 0.3})
    assert float(w[labels].mean()) == pytest.approx(1.0)
    weighted = np.bincount(labels, weights=w[labels]) / w[labels].sum()
    assert np.allclose(weighted, [0.1, 0.6, 0.3])
    # A class with no crops weighs nothing; one the prior lacks weighs nothing either.
    w = class_weights(np.array([0, 0, 1]), classes, {"a": 0.5, "c": 0.5})
    assert w[1] == 0.0 and w[2] == 0.0 and w[0] > 0
    assert sum(USUAL_DIFFERENTIAL.values()) == pytest.approx(1.0)


def test_weighted_domain_losses() -> None:
    torch.manual_seed(0)
    head = DomainHead(4, 3)
    lab, other = torch.randn(6, 4), torch.randn(5, 4)
    doms = torch.tensor([1, 2, 1, 2, 1])
    for loss in (domain_loss, confusion_loss):
        plain = loss(head, lab, other, doms, 0.3)
        same = loss(head, lab, other, doms, 0.3, torch.full((6,), 2.0))
        assert torch.allclose(plain, same)  # only the weights' proportions count
        # Weight on one labelled row alone: that row's loss, as if it were the only one.
        one = torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0, 0.0])
        alone = loss(head, lab[2:3], other, doms, 0.3)
        assert torch.allclose(loss(head, lab, other, doms, 0.3, one), alone)


def test_fields_give_their_white_cells_by_source_and_train_adversarially(
    yolo_folder: Path, cell_folder: Path, tmp_path: Path
) -> None:
    sources = {(320, 240): "lab-a"}
    cells = source_cells(yolo_folder, "train", 128, sources)
    assert list(cells) == ["lab-a"] and len(cells["lab-a"]) >= 4
    _, box, crop, framed = cells["lab-a"][0]
    assert crop.shape == (128, 128, 3) and framed.shape[2] == 3
    # The white 'cell' (radius 30, colour (160, 60, 90) BGR) is in the middle of both.
    mid = framed[framed.shape[0] // 2, framed.shape[1] // 2]
    assert tuple(int(v) for v in mid) == (90, 60, 160)
    assert box[2] - box[0] == pytest.approx(60, abs=2)
    domains = tmp_path / "domains"
    assert write_domains(yolo_folder, "train", domains, sources) == {"lab-a": len(cells["lab-a"])}
    names, images, labels = load_domains(domains)
    assert names == ["lab-a"] and len(images) == len(cells["lab-a"]) and set(labels) == {1}

    out = tmp_path / "run"
    cfg = ClassifierTrainConfig(
        data=str(cell_folder), out=str(out), epochs=1, batch=8, threads=1,
        domains=str(domains), domain_weight=0.5, clip_norm=1.0, style=0.5, mixstyle=1.0,
        domain_prior="usual",
    )  # fmt: skip
    train_classifier(cfg)
    rec = json.loads((out / "history.jsonl").read_text().splitlines()[0])
    assert 0.0 <= rec["domain_accuracy"] <= 1.0 and rec["domain_loss"] > 0
    assert (out / "domain_head.pt").exists()
    # The exported weights are the classifier's alone: they load without the domain head.
    state = torch.load(out / "best.pt", map_location="cpu", weights_only=False)
    CellClassifier(8).load_state_dict(state["model"])
    card = finalise_classifier(out, cfg, "test command")
    entry = card["training"]["domain_adversarial"]
    assert entry["unlabelled_cells"] == {"lab-a": len(cells["lab-a"])}
    assert entry["weight"] == 0.5 and entry["method"].startswith("confuse")
    assert "usual differential" in entry["labelled_weighting"]
    # The card quotes where each laboratory's cells came from, as their writer said.
    assert "lab-a fields of the train split" in entry["sources"]["lab-a"]
    assert "50% of the labelled crops given the low-frequency" in card["training"]["augmentation"]
    assert "early feature statistics" in card["training"]["augmentation"]
    # The style mix takes its colours from the --domains cells: none, no run.
    with pytest.raises(SystemExit, match="give --domains"):
        train_classifier(ClassifierTrainConfig(data=str(cell_folder), out=str(out), style=0.5))
    with pytest.raises(SystemExit, match="give --domains"):
        train_classifier(ClassifierTrainConfig(data=str(cell_folder), out=str(out), mixstyle=0.5))
    # The class weighting weighs the domain loss: none without --domains, none with --distil.
    with pytest.raises(SystemExit, match="give --domains"):
        train_classifier(
            ClassifierTrainConfig(data=str(cell_folder), out=str(out), domain_prior="usual")
        )


def test_a_fine_tuned_card_names_the_model_it_started_from(tmp_path: Path) -> None:
    from hemoscope.training.export_classifier import init_entry
    from hemoscope.vision.model_card import file_sha256

    start = tmp_path / "classifier.onnx"
    start.write_bytes(b"weights")
    sha = file_sha256(start)
    command = "python -m hemoscope.training classifier --epochs 40"
    card = {"sha256": sha, "version": "2026.11.22", "training": {"command": command}}
    start.with_suffix(".json").write_text(json.dumps(card))
    entry = init_entry(str(start))
    assert isinstance(entry, dict)
    assert entry["sha256"] == sha and entry["command"].endswith("--epochs 40")
    assert init_entry(str(tmp_path / "run" / "best.pt")) == str(tmp_path / "run" / "best.pt")
    # A card that does not describe the file (replaced weights) is not believed.
    start.write_bytes(b"other weights")
    assert init_entry(str(start)) == str(start)


def test_a_stopped_domain_adversarial_run_resumes_its_domain_head(
    cell_folder: Path, other_labs: Path, tmp_path: Path
) -> None:
    """The domain head and its optimiser are in the run's checkpoint: a run stopped after
    its first epoch and resumed ends where the same run without a stop ends."""
    common = {
        "data": str(cell_folder), "epochs": 2, "batch": 8, "threads": 1,
        "domains": str(other_labs), "domain_weight": 0.3,
    }  # fmt: skip
    whole, parted = tmp_path / "whole", tmp_path / "parted"
    train_classifier(ClassifierTrainConfig(out=str(whole), **common))
    train_classifier(ClassifierTrainConfig(out=str(parted), stop_after=1, **common))
    kept = torch.load(parted / "last.ckpt", map_location="cpu", weights_only=False)["companion"]
    moments = kept["domain_optimiser"]["state"]
    assert moments and all(int(m["step"]) > 0 for m in moments.values())
    train_classifier(ClassifierTrainConfig(out=str(parted), **common))
    heads = [torch.load(r / "domain_head.pt", map_location="cpu") for r in (whole, parted)]
    assert heads[0].keys() == heads[1].keys()
    for key in heads[0]:
        torch.testing.assert_close(heads[0][key], heads[1][key])
    weights = [
        torch.load(r / "last.ckpt", map_location="cpu", weights_only=False) for r in (whole, parted)
    ]
    for key in weights[0]["model"]:
        torch.testing.assert_close(weights[0]["model"][key], weights[1]["model"][key])
