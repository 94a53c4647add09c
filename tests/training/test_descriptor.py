"""The classifier's features output: exported with new graphs, added to older ones, read
by laboratory profiles beside the embedding."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hemoscope.training.classifier_model import CellClassifier, ClassifierExport  # noqa: E402
from hemoscope.training.descriptor import (  # noqa: E402
    add_features,
    scales_from,
    torch_feature_scales,
)
from hemoscope.training.export_classifier import export_onnx  # noqa: E402


def _crops(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (n, 16, 16, 3)).astype(np.uint8)
    return np.ascontiguousarray(base.repeat(8, axis=1).repeat(8, axis=2))


def _torch_outputs(model: CellClassifier, crops: np.ndarray, scales: tuple[float, ...]) -> tuple:
    x = torch.from_numpy(crops.transpose(0, 3, 1, 2).astype(np.float32) / 255)
    with torch.no_grad():
        return tuple(t.numpy() for t in ClassifierExport(model, feature_scales=scales)(x))


def test_scales_give_each_block_the_embeddings_root_mean_square(
    trained_looking: Callable[..., CellClassifier],
) -> None:
    model = trained_looking(5)
    crops = _crops(24)
    scales = torch_feature_scales(model, crops, batch=10)
    assert len(scales) == 2 and all(s > 0 for s in scales)
    _, emb, _, feats = _torch_outputs(model, crops, scales)
    assert feats.shape == (24, 64 + 128)
    rms = float(np.sqrt(np.mean(emb.astype(np.float64) ** 2)))
    for block in (feats[:, :64], feats[:, 64:]):
        assert np.sqrt(np.mean(block.astype(np.float64) ** 2)) == pytest.approx(rms, rel=1e-3)
    assert scales_from(np.full((3, 2), 2.0), [np.full((3, 4), 0.5)]) == (4.0,)
    with pytest.raises(ValueError, match="zero on every crop"):
        scales_from(np.ones((2, 2)), [np.zeros((2, 3))])


def test_a_graph_exported_without_features_gets_them_and_keeps_every_other_output(
    tmp_path: Path, trained_looking: Callable[..., CellClassifier]
) -> None:
    import onnxruntime as ort

    model = trained_looking(5)
    path = tmp_path / "classifier.onnx"
    export_onnx(model, path, features=False)
    card = {"sha256": "old", "size_bytes": 0, "outputs": {"embedding": ["n", 192]}}
    path.with_suffix(".json").write_text(json.dumps(card), encoding="utf-8")
    crops = _crops(40, seed=1)
    x = crops.transpose(0, 3, 1, 2).astype(np.float32) / 255
    before = ort.InferenceSession(str(path)).run(["logits", "embedding", "cam"], {"image": x})
    assert "features" not in {o.name for o in ort.InferenceSession(str(path)).get_outputs()}

    entry = add_features(path, crops, "the command")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["classifier.json", "classifier.onnx"]

    session = ort.InferenceSession(str(path))
    after = session.run(["logits", "embedding", "cam", "features"], {"image": x})
    for old, new in zip(before, after[:3], strict=True):
        np.testing.assert_array_equal(old, new)
    # What a new export of the same weights gives, scales measured the same way.
    scales = tuple(entry["scales"])
    assert scales == pytest.approx(torch_feature_scales(model, crops), rel=1e-4)
    want = _torch_outputs(model, crops, scales)[3]
    np.testing.assert_allclose(after[3], want, atol=1e-4)
    card = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert card["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert card["size_bytes"] == path.stat().st_size
    assert card["outputs"]["features"] == ["n", 192]
    assert card["features"]["command"] == "the command" and card["features"]["cells"] == 40
    with pytest.raises(SystemExit, match="already has a features output"):
        add_features(path, crops, "again")


def test_the_classifier_reads_the_descriptor_and_keeps_the_embedding_apart(
    tmp_path: Path, trained_looking: Callable[..., CellClassifier]
) -> None:
    from hemoscope.vision.classifier import Classifier

    shipped = json.loads(Path("models/classifier.json").read_text(encoding="utf-8"))
    model = trained_looking(5)
    crops = _crops(6, seed=2)
    for features in (True, False):
        path = tmp_path / f"f{features}" / "classifier.onnx"
        path.parent.mkdir()
        export_onnx(model, path, (2.0, 3.0), features=features)
        card = {k: shipped[k] for k in ("classes", "crop_rule", "temperature", "review_threshold")}
        card["outputs"] = {"embedding": ["n", 192]} | ({"features": ["n", 192]} if features else {})
        card["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        path.with_suffix(".json").write_text(json.dumps(card), encoding="utf-8")
        clf = Classifier(path, threads=1)
        logits, descriptor = clf.logits_and_descriptor(crops, turns=1)
        _, embedding = clf.logits_and_embedding(crops, turns=1)
        want = _torch_outputs(model, crops, (2.0, 3.0))
        np.testing.assert_allclose(logits, want[0], atol=1e-4)
        np.testing.assert_allclose(embedding, want[1], atol=1e-4)
        expected = np.hstack([want[1], want[3]]) if features else want[1]
        np.testing.assert_allclose(descriptor, expected, atol=1e-4)
        assert clf.descriptor_size == expected.shape[1]
        np.testing.assert_allclose(clf.classify_crops(crops).embedding.shape, (6, 192))
