"""The 8-bit classifier the station ships: quantised from a float export, with its card
and statistics measured again, and still a starting point for fine-tuning."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hemoscope.training.classifier_model import CellClassifier, ClassifierExport  # noqa: E402
from hemoscope.training.colour_reference import split_crops  # noqa: E402
from hemoscope.training.export_classifier import export_onnx  # noqa: E402
from hemoscope.training.onnx_import import QUANTISED_TOLERANCE, import_onnx  # noqa: E402
from hemoscope.training.quantise import is_quantised  # noqa: E402
from hemoscope.training.train_classifier import CLASSES  # noqa: E402
from hemoscope.vision.classifier import Classifier, graph_input  # noqa: E402
from hemoscope.vision.model_card import file_sha256, models_dir  # noqa: E402


def _float_export(model: CellClassifier, folder: Path) -> Path:
    """``model`` exported as a float classifier with a copy of the shipped card (its own
    hash and size) and the shipped unfamiliar-cell statistics."""
    folder.mkdir()
    path = folder / "classifier.onnx"
    export_onnx(model, path)
    card = json.loads((models_dir() / "classifier.json").read_text(encoding="utf-8"))
    card.pop("quantisation", None)
    card.update(sha256=file_sha256(path), size_bytes=path.stat().st_size, version="float")
    path.with_suffix(".json").write_text(json.dumps(card), encoding="utf-8")
    shutil.copy(models_dir() / "classifier.unfamiliar.npz", folder)
    return path


def test_quantise_writes_an_8bit_classifier_with_its_own_card_and_statistics(
    cell_folder: Path, tmp_path: Path, trained_looking: Callable[..., CellClassifier]
) -> None:
    from hemoscope.training.cli import main as training_main

    src = _float_export(trained_looking(), tmp_path / "float")
    out = tmp_path / "int8"
    args = ["--data", str(cell_folder), "--val-fraction", "0.34", "--calib", "16"]
    # Ranges also from other laboratories' unlabelled cells (here: one folder per class).
    domains = ["--domains", str(cell_folder)]
    assert training_main(["quantise", "--model", str(src), "--out", str(out), *args, *domains]) == 0

    model = out / "classifier.onnx"
    assert is_quantised(model) and not is_quantised(src)
    assert model.stat().st_size < 0.4 * src.stat().st_size
    card = json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))
    assert card["sha256"] == file_sha256(model) and card["size_bytes"] == model.stat().st_size
    q = card["quantisation"]
    assert q["source"]["sha256"] == file_sha256(src) and q["source"]["version"] == "float"
    assert "quantise" in q["command"] and "reduce_range" in q["weights"]
    assert "48 unlabelled white cells of other laboratories" in q["activations"]
    assert "neutrophil 6" in q["activations"]
    assert 0.0 <= q["val_same_class"] <= 1.0 and q["val_max_abs_logit_diff"] >= 0.0
    # The statistics that read the model's outputs are this file's, fitted again.
    stats = model.with_suffix(".unfamiliar.npz")
    assert card["unfamiliar"]["sha256"] == file_sha256(stats)
    assert "quantise" in card["unfamiliar"]["command"]
    assert "quantise" in card["descriptor_spread"]["command"]
    assert card["metrics"]["stress"] and "onnx_torch_max_abs_diff" not in card["metrics"]
    n_val = sum(card["metrics"]["per_class"][c]["support"] for c in CLASSES)
    assert n_val == len(split_crops(cell_folder, 20261122, 0.34, "val"))

    # The station loads it and computes what the float graph computes, within the
    # quantisation's error.
    crops = split_crops(cell_folder, 20261122, 0.34, "val")
    want, _ = Classifier(src).logits_and_embedding(crops, turns=1)
    got, _ = Classifier(model).logits_and_embedding(crops, turns=1)
    spread = float(np.ptp(want))
    assert spread > 0 and float(np.abs(got - want).max()) < 0.1 * spread
    assert float(np.corrcoef(got.ravel(), want.ravel())[0, 1]) > 0.99

    # Fine-tuning can start from it: the weights dequantised.
    imported = import_onnx(model, CLASSES)
    with torch.no_grad():
        logits = ClassifierExport(imported).eval()(torch.from_numpy(graph_input(crops)))[0]
    assert float(np.abs(logits.numpy() - got).max()) < QUANTISED_TOLERANCE

    # An 8-bit file is not quantised again.
    with pytest.raises(SystemExit, match="quantised already"):
        training_main(["quantise", "--model", str(model), "--out", str(tmp_path / "x"), *args])


def test_the_shipped_classifier_is_the_8bit_one_and_names_its_float_source() -> None:
    model = models_dir() / "classifier.onnx"
    card = json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))
    assert is_quantised(model)
    source = card["quantisation"]["source"]
    assert len(source["sha256"]) == 64 and source["sha256"] != card["sha256"]
    assert source["training_command"] == card["training"]["command"]
    # Quantised, it gives the float model's class to nearly every validation cell.
    assert card["quantisation"]["val_same_class"] >= 0.99
    assert card["metrics"]["val_accuracy"] >= source["val_accuracy"] - 0.005
