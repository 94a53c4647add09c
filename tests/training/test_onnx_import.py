"""Fine-tuning from a shipped classifier ONNX file: its folded BatchNorms imported."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hemoscope.training.classifier_model import CellClassifier, ClassifierExport  # noqa: E402
from hemoscope.training.export_classifier import export_onnx  # noqa: E402
from hemoscope.training.onnx_import import import_for, import_onnx  # noqa: E402
from hemoscope.training.train_classifier import CLASSES, ClassifierTrainConfig, train  # noqa: E402


def _outputs(model: CellClassifier, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        logits, emb = ClassifierExport(model).eval()(torch.from_numpy(x))[:2]
    return logits.numpy(), emb.numpy()


def test_imported_weights_compute_what_the_onnx_graph_computes(
    tmp_path: Path, trained_looking: Callable[..., CellClassifier]
) -> None:
    original = trained_looking()
    path = tmp_path / "classifier.onnx"
    export_onnx(original, path)
    imported = import_onnx(path, CLASSES)
    x = np.random.default_rng(1).random((3, 3, 128, 128), dtype=np.float32)
    want_logits, want_emb = _outputs(original, x)
    got_logits, got_emb = _outputs(imported, x)
    np.testing.assert_allclose(got_logits, want_logits, atol=1e-3)
    np.testing.assert_allclose(got_emb, want_emb, atol=1e-3)
    # The BatchNorms are now identities carrying the folded bias.
    bn = imported.stem[0][1]
    assert torch.all(bn.running_mean == 0) and torch.all(bn.weight == 1)


def test_import_refuses_a_graph_of_another_architecture(tmp_path: Path) -> None:
    path = tmp_path / "classifier.onnx"
    export_onnx(CellClassifier(len(CLASSES), widths=(16, 32, 64, 96)).eval(), path)
    with pytest.raises(ValueError, match="weight"):
        import_onnx(path, CLASSES)


def test_fine_tuning_from_onnx_keeps_the_statistics_frozen(
    cell_folder: Path, tmp_path: Path, trained_looking: Callable[..., CellClassifier]
) -> None:
    path = tmp_path / "classifier.onnx"
    export_onnx(trained_looking(), path)
    out = tmp_path / "run"
    train(ClassifierTrainConfig(
        data=str(cell_folder), out=str(out), epochs=1, batch=8, threads=1, lr=1e-3,
        init=str(path),
    ))  # fmt: skip
    state = torch.load(out / "best.pt", map_location="cpu", weights_only=False)["model"]
    running = [k for k in state if k.endswith("running_mean")]
    assert running
    for k in running:
        assert torch.all(state[k] == 0), k  # batch statistics never replaced the identity
    assert not torch.allclose(state["head.weight"], import_onnx(path, CLASSES).head.weight)


def test_a_file_given_on_the_command_line_is_refused_by_name(tmp_path: Path) -> None:
    """`--init` and `--distil` end the run with a message naming the option and the file,
    not a traceback: a missing file, a file that is no ONNX graph, another architecture."""
    missing = tmp_path / "missing.onnx"
    with pytest.raises(SystemExit, match=r"--distil .*missing\.onnx: no such classifier file"):
        import_for("--distil", missing, CLASSES)
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"not a graph")
    with pytest.raises(SystemExit, match=r"--init .*corrupt\.onnx: not a classifier"):
        import_for("--init", corrupt, CLASSES)
    other = tmp_path / "other.onnx"
    torch.onnx.export(torch.nn.Conv2d(3, 4, 3), (torch.zeros(1, 3, 8, 8),), str(other),
                      dynamo=False)  # fmt: skip
    with pytest.raises(SystemExit, match="1 convolutions and 0 linear layers"):
        import_for("--init", other, CLASSES)
