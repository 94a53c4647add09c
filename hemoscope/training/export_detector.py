"""After training the detector: export to ONNX, check parity, measure, write the card."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from hemoscope.training.detector_model import INPUT_LONG_SIDE, STRIDE, CellDetector, DetectorExport
from hemoscope.training.export_classifier import OPSET, sha256
from hemoscope.training.train_detector import CLASSES, DetectorTrainConfig
from hemoscope.training.yolo_data import load_split
from hemoscope.vision.detection_metrics import (
    AP_SCORE_FLOOR,
    ImageResult,
    best_count_threshold,
    evaluate,
)
from hemoscope.vision.detector import Detector

log = logging.getLogger(__name__)


def load_best(run: Path) -> CellDetector:
    state = torch.load(run / "best.pt", map_location="cpu", weights_only=False)
    model = CellDetector(len(CLASSES))
    model.load_state_dict(state["model"])
    return model.eval()


def export_onnx(model: CellDetector, path: Path) -> None:
    x = torch.rand(1, 3, 256, INPUT_LONG_SIDE)
    torch.onnx.export(
        DetectorExport(model).eval(),
        (x,),
        str(path),
        input_names=["image"],
        output_names=["heat", "size", "offset"],
        dynamic_axes={
            "image": {0: "n", 2: "h", 3: "w"},
            "heat": {0: "n", 2: "fh", 3: "fw"},
            "size": {0: "n", 2: "fh", 3: "fw"},
            "offset": {0: "n", 2: "fh", 3: "fw"},
        },
        opset_version=OPSET,
        dynamo=False,
    )


PEAK_FLOOR = 0.05
"""Heat-map values compared in the parity check: peaks either side scores this high."""


def parity(model: CellDetector, path: Path) -> float:
    """The largest difference between the torch model and its ONNX graph on random input:
    absolute on the heat map's peaks of at least `PEAK_FLOOR` and on the offsets,
    relative on the sizes (pixels, up to hundreds).

    The graph zeroes every heat-map value that is not the maximum of its 3 x 3
    neighbourhood; where two neighbours differ by a rounding error either may be kept,
    so weak values below `PEAK_FLOOR` (far below any detection threshold) are not
    compared.
    """
    x = torch.rand(2, 3, 256, 320, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = [t.numpy() for t in DetectorExport(model).eval()(x)]
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    heat, size, offset = sess.run(None, {"image": x.numpy()})
    strong = (ref[0] >= PEAK_FLOOR) | (heat >= PEAK_FLOOR)
    return float(
        max(
            np.abs(ref[0] - heat)[strong].max(initial=0.0),
            (np.abs(ref[1] - size) / np.maximum(np.abs(ref[1]), 1.0)).max(),
            np.abs(ref[2] - offset).max(),
        )
    )


def finalise(
    run: Path, cfg: DetectorTrainConfig, command: str, card_extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    model = load_best(run)
    onnx_path = run / "detector.onnx"
    export_onnx(model, onnx_path)
    diff = parity(model, onnx_path)
    if diff > 1e-3:
        raise RuntimeError(f"ONNX and torch disagree by {diff:.2e}")
    best_epoch = int(torch.load(run / "best.pt", map_location="cpu", weights_only=False)["epoch"])
    card: dict[str, Any] = {
        "name": "hemoscope-cell-detector",
        "version": dt.date.today().strftime("%Y.%m.%d"),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "task": "detection of white cells, red cells and platelets in a blood-smear field",
        "file": "detector.onnx",
        "sha256": sha256(onnx_path),
        "size_bytes": onnx_path.stat().st_size,
        "classes": list(CLASSES),
        "input": {
            "name": "image",
            "shape": ["n", 3, "h", "w"],
            "dtype": "float32",
            "colour": "RGB",
            "range": [0.0, 1.0],
            "normalisation": "inside the graph: (x - 0.5) / 0.25",
            "letterbox": {
                "long_side": INPUT_LONG_SIDE,
                "multiple": 32,
                "pad_value": 128,
                "placement": "top-left; resize INTER_AREA when shrinking, bilinear when enlarging",
            },
        },
        "outputs": {
            "heat": "n x classes x h/4 x w/4, sigmoid scores with non-peaks (3x3 max-pool) set to 0",
            "size": "n x 2 x h/4 x w/4, box width and height in input pixels",
            "offset": "n x 2 x h/4 x w/4, centre offset within the stride-4 cell",
            "stride": STRIDE,
        },
        "thresholds": {"score": cfg.count_threshold, "nms_iou": cfg.nms_iou},
        "architecture": "residual backbone (32-64-128-192) to stride 32, top-down pyramid to stride 4, "
        "CenterNet-style heads (heat map, log size, offset)",
        "data": {
            "dataset": "TXL-PBC (Gan & Li, 'TXL-PBC: a freely accessible labeled peripheral blood cell "
            "dataset', arXiv:2407.13214)",
            "licence": "MIT",
            "path": "../shared/data/txl-pbc",
            "split": "the dataset's own train split for training, its val split for model selection "
            "and the metrics below; its test split is held back by the laboratory",
        },
        "training": {
            "command": command,
            "epochs": cfg.epochs,
            "best_epoch": best_epoch,
            "batch": cfg.batch,
            "canvas": cfg.canvas,
            "optimiser": f"AdamW lr {cfg.lr} wd {cfg.weight_decay}, cosine, EMA weights",
            "augmentation": f"scale x{cfg.scale_range[0]}-{cfg.scale_range[1]} around the letterbox scale, "
            "random crop/pad, 90-degree rotations, flips; HED stain, colour, gamma, white balance, blur, "
            "noise, JPEG",
            "torch": torch.__version__,
            "seed": cfg.seed,
        },
    }
    (run / "detector.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    # Metrics from the exported model through the run-time code path.
    det = Detector(onnx_path, threshold=AP_SCORE_FLOOR)
    results = []
    for s in load_split(Path(cfg.data), "val", len(CLASSES), cfg.limit):
        d = det.detect(s.image, channels="rgb")
        results.append(ImageResult(s.boxes, s.classes, d.boxes, d.classes, d.scores))
    # Counting threshold per class: the one with the lowest count error on validation.
    per_class = [best_count_threshold(results, c) for c in range(len(CLASSES))]
    card["thresholds"]["score_per_class"] = dict(zip(CLASSES, per_class, strict=True))
    rep = evaluate(results, CLASSES, per_class)
    card["metrics"] = {
        "val": rep.as_dict(),
        "count_thresholds": "per class, chosen on the validation split (lowest count MAE)",
        "onnx_torch_max_diff": diff,
        "onnx_torch_parity": "largest difference on random input: absolute on heat-map "
        f"peaks >= {PEAK_FLOOR} and offsets, relative on sizes",
    }
    if card_extra:
        card.update(card_extra)
    (run / "detector.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    log.info("val mAP50 %.4f mAP50-95 %.4f", rep.map50, rep.map50_95)
    return card
