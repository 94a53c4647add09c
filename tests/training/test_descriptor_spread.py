"""The descriptor spread written into a classifier card: measured on the training
split's crops through the exported graph, as the station runs it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from hemoscope.training.colour_reference import split_crops
from hemoscope.vision.classifier import Classifier
from hemoscope.vision.descriptor_spread import descriptor_spread
from hemoscope.vision.model_card import models_dir


def test_the_spread_of_the_training_crops_goes_into_the_card(
    cell_folder: Path, tmp_path: Path
) -> None:
    from hemoscope.training.cli import main as training_main

    for suffix in (".onnx", ".json", ".unfamiliar.npz"):
        shutil.copy(models_dir() / f"classifier{suffix}", tmp_path / f"classifier{suffix}")
    model = tmp_path / "classifier.onnx"
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
