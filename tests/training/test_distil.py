"""Distilling the eight views' average into one view (`training.distil`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from hemoscope.training.classifier_model import CellClassifier  # noqa: E402
from hemoscope.training.distil import Distiller, eight_views  # noqa: E402
from hemoscope.training.export_classifier import finalise  # noqa: E402
from hemoscope.training.train_classifier import ClassifierTrainConfig, train  # noqa: E402
from hemoscope.vision.classifier import Classifier  # noqa: E402


def _distiller(seed: int = 0) -> Distiller:
    torch.manual_seed(seed)
    return Distiller(CellClassifier(8), 1.0)


def test_eight_views_are_the_square_symmetries() -> None:
    x = torch.rand(2, 3, 16, 16)
    views = eight_views(x).view(8, 2, 3, 16, 16)
    # All eight differ, and the first is the crop as given.
    flat = views.reshape(8, -1)
    assert torch.equal(views[0], x)
    assert len({tuple(v.tolist()) for v in flat}) == 8
    # Turning or mirroring the crop permutes its views: the same set.
    for moved in (torch.rot90(x, 1, dims=(2, 3)), torch.flip(x, dims=(2,))):
        other = eight_views(moved).view(8, 2, 3, 16, 16).reshape(8, -1)
        assert sorted(map(tuple, flat.tolist())) == sorted(map(tuple, other.tolist()))


def test_teacher_targets_do_not_depend_on_the_view_given() -> None:
    d = _distiller()
    x = torch.rand(3, 3, 64, 64)
    t = d.targets(x)
    assert t.shape == (3, 8)
    assert torch.allclose(t, d.targets(torch.rot90(x, 3, dims=(2, 3))), atol=1e-4)
    assert torch.allclose(t, d.targets(torch.flip(x, dims=(3,))), atol=1e-4)
    # ...which the network itself, asked once, does not give.
    d.teacher.eval()
    with torch.no_grad():
        one = d.teacher(x)
        turned = d.teacher(torch.rot90(x, 1, dims=(2, 3)))
    assert not torch.allclose(one, turned, atol=1e-4)


def test_the_student_learns_the_teacher_on_unlabelled_cells() -> None:
    d = _distiller(0)
    torch.manual_seed(1)
    student = CellClassifier(8)
    student.train()
    x = torch.rand(8, 3, 64, 64)
    unlabelled = torch.full((8,), -1, dtype=torch.long)
    opt = torch.optim.Adam(student.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = d.loss(student, x, unlabelled, 0.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.3 * losses[0]
    summary = d.summary()
    assert summary["distil_loss"] > 0 and 0.0 <= summary["teacher_agreement"] <= 1.0
    assert d.summary()["distil_loss"] == 0.0  # figures start again each epoch
    # With labels, the cross-entropy is added: the loss is larger than the divergence alone.
    labels = torch.arange(8)
    with torch.no_grad():
        assert float(d.loss(student, x, labels, 0.0)) > float(d.loss(student, x, unlabelled, 0.0))


def test_a_run_distils_a_shipped_classifier_and_says_so(cell_folder: Path, tmp_path: Path) -> None:
    teacher_run = tmp_path / "teacher"
    cfg = ClassifierTrainConfig(data=str(cell_folder), out=str(teacher_run), epochs=1, batch=8,
                                threads=1)  # fmt: skip
    train(cfg)
    finalise(teacher_run, cfg, "teacher command")
    domains = tmp_path / "domains"
    for lab, classes in (("lab-a", ("monocyte", "neutrophil")), ("lab-b", ("lymphocyte",))):
        (domains / lab).mkdir(parents=True)
        for name in classes:
            for f in (cell_folder / name).iterdir():
                shutil.copy(f, domains / lab / f.name)
    out = tmp_path / "student"
    teacher = teacher_run / "classifier.onnx"
    cfg2 = ClassifierTrainConfig(
        data=str(cell_folder), out=str(out), epochs=1, batch=8, threads=1, lr=1e-4,
        init=str(teacher), distil=str(teacher), domains=str(domains), turns=1,
    )  # fmt: skip
    history = train(cfg2)["history"]
    assert history[0]["distil_loss"] > 0 and "domain_accuracy" not in history[0]
    card = finalise(out, cfg2, "student command")
    assert card["turns"] == 1 and "domain_adversarial" not in card["training"]
    entry = card["training"]["distillation"]
    assert (
        entry["teacher"]["sha256"]
        == json.loads((teacher_run / "classifier.json").read_text())["sha256"]
    )
    assert entry["views"] == 8 and entry["unlabelled_cells"] == {"lab-a": 12, "lab-b": 6}
    assert Classifier(out / "classifier.onnx").turns == 1
    # The style mix needs --domains as other laboratories' colours, which --distil takes.
    with pytest.raises(SystemExit, match="--distil"):
        train(ClassifierTrainConfig(data=str(cell_folder), out=str(tmp_path / "x"), epochs=1,
                                    batch=8, distil=str(teacher), domains=str(domains),
                                    style=0.5))  # fmt: skip
