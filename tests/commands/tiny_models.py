"""Small randomly-initialised detector and classifier, exported with the project's own code.

They know nothing about blood cells; they exist so that the pipeline and the ``analyze``
command can be run end to end (ONNX Runtime sessions, model cards with a verified sha256,
letterbox, crops, batching) without the shipped models. Two biases are set by hand so that
the outputs are usable: every box is about 48 input pixels wide (no detector tiling), and
the heat-map bias is chosen so that a handful of peaks per field pass the threshold.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import cv2
import numpy as np

DETECTOR_CLASSES = ("wbc", "rbc", "platelet")
CLASSIFIER_CLASSES = (
    "basophil", "eosinophil", "erythroblast", "ig",
    "lymphocyte", "monocyte", "neutrophil", "platelet",
)  # fmt: skip
SCORE_THRESHOLD = 0.5
REVIEW_THRESHOLD = 0.6
BOX_INPUT_PX = 48.0


def smear_field(seed: int, height: int = 480, width: int = 640) -> np.ndarray:
    """A smear-like BGR field: pale background, pink red cells, a few purple white cells."""
    rng = np.random.default_rng(seed)
    img = np.full((height, width, 3), (225, 215, 235), np.uint8)
    for _ in range(max(4, height * width // 9000)):
        c = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(img, c, int(rng.integers(28, 40)), (170, 150, 215), -1)
    for _ in range(3):
        c = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(img, c, max(4, min(45, width // 14)), (150, 60, 110), -1)
    for _ in range(8):
        c = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(img, c, 6, (140, 80, 150), -1)
    return img


def _crop(field: np.ndarray, size: int, scale: float) -> np.ndarray:
    from hemoscope.vision.crops import cut_crop

    rng = np.random.default_rng(int(field[0, 0, 0]) + field.shape[1])
    cx, cy = float(rng.integers(60, field.shape[1] - 60)), float(rng.integers(60, 420))
    return cut_crop(field[:, :, ::-1].copy(), cx, cy, 45 * scale, size)


def _quietly(export: Any, model: Any, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch's legacy exporter
        export(model, path)


def _card(path: Path, extra: dict[str, Any]) -> None:
    from hemoscope.vision.model_card import file_sha256

    card = {"name": f"tiny-{path.stem}", "version": "test", "sha256": file_sha256(path), **extra}
    path.with_suffix(".json").write_text(json.dumps(card, indent=2), encoding="utf-8")


def export_tiny_detector(out: Path) -> Path:
    import torch

    from hemoscope.training.detector_model import INPUT_LONG_SIDE, STRIDE, CellDetector
    from hemoscope.training.export_detector import export_onnx

    torch.manual_seed(0)
    model = CellDetector(len(DETECTOR_CLASSES), (8, 16, 16, 16), (1, 1, 1, 1), neck=16).eval()
    with torch.no_grad():
        model.size[-1].weight.zero_()
        model.size[-1].bias.fill_(math.log(BOX_INPUT_PX))
        # Calibrate the heat bias on one field: about 6 peaks per class above threshold.
        rgb = smear_field(99, 240, 320)[:, :, ::-1].copy()
        x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
        logits = model(x)[0][0]
        peaks = logits == torch.nn.functional.max_pool2d(logits[None], 3, 1, 1)[0]
        for c in range(len(DETECTOR_CLASSES)):
            vals = torch.sort(logits[c][peaks[c]], descending=True).values
            model.heat[-1].bias[c] -= float(vals[min(6, len(vals) - 1)])
    path = out / "detector.onnx"
    _quietly(export_onnx, model, path)
    _card(
        path,
        {
            "classes": list(DETECTOR_CLASSES),
            "input": {"letterbox": {"long_side": INPUT_LONG_SIDE, "multiple": 32}},
            "outputs": {"stride": STRIDE},
            "thresholds": {"score": SCORE_THRESHOLD, "nms_iou": 0.5},
        },
    )
    return path


def export_tiny_classifier(out: Path) -> Path:
    import torch

    from hemoscope.training.classifier_model import INPUT_SIZE, CellClassifier
    from hemoscope.training.export_classifier import export_onnx
    from hemoscope.vision.crops import CROP_SCALE

    torch.manual_seed(1)
    model = CellClassifier(len(CLASSIFIER_CLASSES), (8, 16, 16, 16), (1, 1, 1, 1)).eval()
    with torch.no_grad():
        # Centre and spread the logits on crops of a few fields, so that the calls vary
        # from cell to cell and some are confident while others are not.
        crops = np.stack([_crop(smear_field(s), INPUT_SIZE, CROP_SCALE) for s in range(12)])
        x = torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 255
        logits = model(x)
        scale = 3.0 / float(logits.std(0).mean())
        model.head.weight.mul_(scale)
        model.head.bias.copy_((model.head.bias - logits.mean(0)) * scale)
    path = out / "classifier.onnx"
    _quietly(export_onnx, model, path)
    _card(
        path,
        {
            "classes": list(CLASSIFIER_CLASSES),
            "crop_rule": {"scale": CROP_SCALE, "size": INPUT_SIZE},
            "temperature": 1.0,
            "review_threshold": REVIEW_THRESHOLD,
        },
    )
    return path


_EXPORTED: dict[str, tuple[Path, Path]] = {}


def tiny_models(folder: Path) -> tuple[Path, Path]:
    """(detector.onnx, classifier.onnx) exported once per test session into ``folder``."""
    if "models" not in _EXPORTED:
        folder.mkdir(parents=True, exist_ok=True)
        _EXPORTED["models"] = (export_tiny_detector(folder), export_tiny_classifier(folder))
    return _EXPORTED["models"]
