"""Self-supervised pre-training (SimCLR): the loss, the views, and a seconds-long run whose
weights a classifier run starts from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hemoscope.training.classifier_model import CellClassifier  # noqa: E402
from hemoscope.training.cli import main as training_main  # noqa: E402
from hemoscope.training.self_supervised import (  # noqa: E402
    PretrainConfig,
    cut_views,
    knn_accuracy,
    nt_xent,
    pretrain,
    two_views,
)
from hemoscope.training.train_classifier import ClassifierTrainConfig  # noqa: E402
from hemoscope.training.train_classifier import train as train_classifier  # noqa: E402


def test_nt_xent_is_low_when_each_view_finds_its_partner() -> None:
    g = torch.Generator().manual_seed(0)
    z = torch.randn(16, 8, generator=g)
    matched = nt_xent(z, z + 0.01 * torch.randn(16, 8, generator=g), 0.2)
    shuffled = nt_xent(z, z[torch.randperm(16, generator=g)], 0.2)
    assert float(matched) < 0.5 < float(shuffled)
    # Its ceiling with no information: choosing among the other 2N - 1 views at random.
    same = nt_xent(torch.ones(16, 8), torch.ones(16, 8), 0.2)
    assert float(same) == pytest.approx(np.log(31), rel=1e-4)


def test_views_are_framed_and_coloured_independently() -> None:
    rng = np.random.default_rng(0)
    img = np.full((120, 120, 3), 220, np.uint8)
    img[40:80, 50:70] = (90, 40, 120)  # an off-centre nucleus: turns show
    cfg = PretrainConfig(data="", out="", size=48)
    crops = cut_views([img, img], rng, cfg)
    assert crops.shape == (2, 48, 48, 3) and crops.dtype == np.uint8
    assert not np.array_equal(crops[0], crops[1])
    a, b = two_views([img] * 3, rng, torch.Generator().manual_seed(1), cfg)
    assert a.shape == b.shape == (3, 3, 48, 48)
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert not torch.allclose(a, b)


def test_knn_accuracy_reads_the_classes_from_the_embedding() -> None:
    net = CellClassifier(8).eval()
    rng = np.random.default_rng(2)
    dark = [np.full((64, 64, 3), 30, np.uint8) for _ in range(4)]
    light = [np.full((64, 64, 3), 230, np.uint8) for _ in range(4)]
    noisy = [np.clip(i.astype(int) + rng.integers(-3, 4, i.shape), 0, 255).astype(np.uint8)
             for i in dark[:2] + light[:2]]  # fmt: skip
    bank = (dark + light, np.array([0] * 4 + [1] * 4))
    right = knn_accuracy(net, bank, (noisy, np.array([0, 0, 1, 1])), 32, k=3)
    wrong = knn_accuracy(net, bank, (noisy, np.array([1, 1, 0, 0])), 32, k=3)
    assert right == 1.0 and wrong == 0.0


def test_pretraining_resumes_and_a_classifier_starts_from_its_weights(
    cell_folder: Path, other_labs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ssl"
    cfg = PretrainConfig(
        data=str(cell_folder), out=str(out), domains=str(other_labs), epochs=1, batch=8, size=48,
        threads=1,
    )  # fmt: skip
    first = pretrain(cfg)
    assert [h["epoch"] for h in first["history"]] == [1]
    assert np.isfinite(first["history"][0]["loss"])
    # Resuming with more epochs continues from the checkpoint, by the command line.
    rc = training_main([
        "pretrain", "--data", str(cell_folder), "--domains", str(other_labs), "--out", str(out),
        "--epochs", "2", "--batch", "8", "--size", "48", "--threads", "1",
    ])  # fmt: skip
    assert rc == 0
    lines = (out / "history.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [1, 2]
    note = json.loads((out / "pretrained.json").read_text())
    assert note["epoch"] == 2 and note["domains"] == {"lab-a": 3, "lab-b": 3}
    # PBC's validation split (the classifier's, same seed) is never pre-trained on.
    assert note["pbc_split"]["val"] == 8 and note["pbc_split"]["train"] == 40
    weights = torch.load(out / "pretrained.pt", map_location="cpu", weights_only=False)["model"]
    assert set(weights) == set(CellClassifier(8).state_dict())
    # A classifier run starts from them (a vanishing learning rate keeps them).
    run = tmp_path / "clf"
    train_classifier(ClassifierTrainConfig(
        data=str(cell_folder), out=str(run), epochs=1, batch=8, threads=1, lr=1e-9,
        init=str(out / "pretrained.pt"),
    ))  # fmt: skip
    tuned = torch.load(run / "best.pt", map_location="cpu", weights_only=False)["model"]
    name = "stages.0.0.a.0.weight"
    assert name in weights and torch.allclose(weights[name], tuned[name], atol=1e-4)


def test_pretraining_refuses_an_odd_batch(cell_folder: Path, tmp_path: Path) -> None:
    cfg = PretrainConfig(data=str(cell_folder), out=str(tmp_path / "x"), batch=7)
    with pytest.raises(SystemExit, match="even number"):
        pretrain(cfg)


def test_pretraining_can_hide_the_laboratory(
    cell_folder: Path, other_labs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ssl"
    rc = training_main([
        "pretrain", "--data", str(cell_folder), "--domains", str(other_labs), "--out", str(out),
        "--epochs", "1", "--batch", "8", "--size", "48", "--threads", "1",
        "--domain-weight", "0.3",
    ])  # fmt: skip
    assert rc == 0
    rec = json.loads((out / "history.jsonl").read_text().splitlines()[0])
    # The laboratory head's figures are in the history: three laboratories to tell apart.
    assert 0.0 <= rec["domain_accuracy"] <= 1.0 and rec["domain_loss"] > 0.0
    head = torch.load(out / "domain_head.pt", map_location="cpu", weights_only=True)
    assert head["net.2.weight"].shape[0] == 3
    note = json.loads((out / "pretrained.json").read_text())
    assert note["config"]["domain_weight"] == 0.3


def test_hiding_the_laboratory_needs_other_laboratories(cell_folder: Path, tmp_path: Path) -> None:
    cfg = PretrainConfig(data=str(cell_folder), out=str(tmp_path / "x"), domain_weight=0.3)
    with pytest.raises(SystemExit, match="give --domains"):
        pretrain(cfg)
