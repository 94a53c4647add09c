"""Entries the training commands write into a classifier card: the descriptor spread
(measured on the training split's crops through the exported graph, as the station runs
it) and the colour reference; every other entry stays as it was."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from hemoscope.training.colour_reference import split_crops
from hemoscope.vision.classifier import Classifier
from hemoscope.vision.descriptor_spread import descriptor_spread
from hemoscope.vision.model_card import models_dir


def _shipped_copy(tmp_path: Path) -> Path:
    for suffix in (".onnx", ".json", ".unfamiliar.npz"):
        shutil.copy(models_dir() / f"classifier{suffix}", tmp_path / f"classifier{suffix}")
    return tmp_path / "classifier.onnx"


def test_the_spread_of_the_training_crops_goes_into_the_card(
    cell_folder: Path, tmp_path: Path
) -> None:
    from hemoscope.training.cli import main as training_main

    model = _shipped_copy(tmp_path)
    card_before = json.loads(model.with_suffix(".json").read_text())
    card_before.pop("descriptor_spread", None)
    model.with_suffix(".json").write_text(json.dumps(card_before))
    args = ["--model", str(model), "--data", str(cell_folder), "--val-fraction", "0.34"]
    assert training_main(["descriptor-spread", *args]) == 0

    card = json.loads(model.with_suffix(".json").read_text())
    entry = card["descriptor_spread"]
    crops = split_crops(cell_folder, 20261122, 0.34, "train")
    assert entry["cells"] == len(crops) > 0
    assert "descriptor-spread" in entry["command"]
    # Measured again here, in one batch: the card holds each dimension's spread.
    _, descriptors = Classifier(model).logits_and_descriptor(crops)
    expected = np.asarray(descriptors, np.float64).std(axis=0)
    np.testing.assert_allclose(entry["values"], expected, rtol=1e-3, atol=1e-6)
    assert descriptor_spread(card, descriptors.shape[1]) is not None
    # Everything else on the card is as it was.
    assert {k: v for k, v in card.items() if k != "descriptor_spread"} == card_before


def test_the_colour_reference_goes_into_the_card(cell_folder: Path, tmp_path: Path) -> None:
    from hemoscope.training.cli import main as training_main
    from hemoscope.vision.colour_calibration import pooled_stats

    model = _shipped_copy(tmp_path)
    before = json.loads(model.with_suffix(".json").read_text())
    args = ["--model", str(model), "--data", str(cell_folder), "--val-fraction", "0.34"]
    assert training_main(["colour-reference", *args]) == 0
    card = json.loads(model.with_suffix(".json").read_text())
    mean, std = pooled_stats(split_crops(cell_folder, 20261122, 0.34, "train"))
    np.testing.assert_allclose(card["colour_reference"]["mean"], mean, atol=1e-3)
    np.testing.assert_allclose(card["colour_reference"]["std"], std, atol=1e-3)
    assert {k: v for k, v in card.items() if k != "colour_reference"} == {
        k: v for k, v in before.items() if k != "colour_reference"
    }
