"""An 8-bit classifier from an exported float one: what the station ships.

    python -m hemoscope.training quantise --model RUN/classifier.onnx \\
        --data ../shared/data/pbc --out OUT [--calib 256] [--domains FOLDER]

ONNX Runtime's static quantisation, QDQ format: weights int8 per output channel with a
7-bit range (``reduce_range``: on x86 processors without VNNI the 8-bit products can
saturate in 16 bits, so only the 7-bit variant computes the same everywhere),
activations uint8 with MinMax ranges from ``--calib`` crops of the card's *training*
split (never its validation cells), framed by the training crop rule, and from every
white cell of ``--domains`` (unlabelled cells of other laboratories, one sub-folder
each, as ``train classifier --domains`` reads them; framed as ``hemoscope classify``
frames single-cell images). Ranges from PBC alone clip what other laboratories' cells
make the network compute: with TXL-PBC's BCCD, BCDD and Raabin cells among them the
8-bit logits of the shipped classifier differ from the float ones by half as much on a
laboratory neither saw (bionet: 0.081 -> 0.034 on average; 95.3 -> 97.7 % of its cells
given the float model's class). The graph keeps
its inputs and outputs (logits, embedding, CAM, features), so nothing else in the
station changes.

``OUT/classifier.onnx`` gets a card: the float card with this file's hash and size, a
``quantisation`` entry (the float source, its hash and training command, the method,
this command, and how the two agree on the validation split), the validation metrics
and stress table measured again, the temperature fitted again on the validation
logits, and the statistics that read the model's outputs fitted again on this file:
the unfamiliar-cell statistics (with the source's score) and the descriptor spread.
The colour reference (crops only) and the review threshold stay; the review
calibration and the cross-lab table are measured again with their own commands
(``calibrate``, ``benchmarks/cross_lab.py --card``), as for any new classifier.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from hemoscope.vision.classification_metrics import (
    fit_temperature,
)
from hemoscope.vision.classifier import Classifier, graph_input
from hemoscope.vision.model_card import file_sha256, load_card

log = logging.getLogger(__name__)

CALIBRATION_SEED = 0
WEIGHTS = "int8 per output channel, 7-bit range (reduce_range)"
ACTIVATIONS = "uint8, MinMax ranges"
U8 = npt.NDArray[np.uint8]


def is_quantised(model: Path) -> bool:
    """Whether an ONNX file holds quantised weights (QDQ or QOperator nodes)."""
    import onnx

    ops = {n.op_type for n in onnx.load(str(model), load_external_data=False).graph.node}
    return bool(ops & {"DequantizeLinear", "QLinearConv", "ConvInteger"})


def quantise_graph(src: Path, dst: Path, crops: U8) -> None:
    """Write the static int8 (QDQ) version of ``src`` to ``dst``, activation ranges from
    ``crops`` (N, S, S, 3)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self.batches = iter(
                [{"image": graph_input(crops[i : i + 16])} for i in range(0, len(crops), 16)]
            )

        def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
            return next(self.batches, None)

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(src), str(prepared))
        quantize_static(
            str(prepared),
            str(dst),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )


def domain_crops(card: dict[str, Any], domains: Path) -> tuple[U8, dict[str, int]]:
    """Every image of each sub-folder of ``domains`` (as ``train classifier --domains``
    reads them, `domain_adversarial.load_domains`) framed as ``classify`` frames a
    single-cell image by the crop rule of ``card``, and how many per sub-folder."""
    from hemoscope.training.domain_adversarial import load_domains
    from hemoscope.vision.detector import Detector
    from hemoscope.vision.single_cell import frame_single_cell

    names, images, labs = load_domains(domains)
    size, scale = int(card["crop_rule"]["size"]), float(card["crop_rule"]["scale"])
    finder = Detector()
    crops = [frame_single_cell(img, size, scale, finder, "rgb")[0] for img in images]
    counts = {name: int((labs == k).sum()) for k, name in enumerate(names, start=1)}
    return np.stack(crops), counts


def quantisation_entry(
    src: Path,
    card: dict[str, Any],
    command: str,
    float_metrics: dict[str, Any],
    ranges: tuple[int, dict[str, int], Path | None],
) -> dict[str, Any]:
    """The card's ``quantisation``: method, where the activation ranges came from
    (``ranges``: training crops, cells per other laboratory, their folder) and the float
    source."""
    n_train, others, domains = ranges
    from_others = (
        f", and {sum(others.values())} unlabelled white cells of other laboratories "
        f"({', '.join(f'{k} {v}' for k, v in others.items())}; {domains}), framed as "
        "classify frames single-cell images"
    )
    return {
        "method": "ONNX Runtime static quantisation, QDQ format",
        "weights": WEIGHTS,
        "activations": f"{ACTIVATIONS} from {n_train} crops of the training split "
        f"(seed {CALIBRATION_SEED}), training crop rule" + (from_others if others else ""),
        "onnxruntime": ort.__version__,
        "command": command,
        "source": {
            "file": str(src),
            "sha256": card.get("sha256", ""),
            "version": card.get("version", ""),
            "size_bytes": card.get("size_bytes", src.stat().st_size),
            "training_command": card.get("training", {}).get("command", ""),
            "val_accuracy": float_metrics["val_accuracy"],
            "val_macro_f1": float_metrics["val_macro_f1"],
            "onnx_torch_max_abs_diff": card.get("metrics", {}).get("onnx_torch_max_abs_diff"),
        },
    }


def quantise(
    src: Path,
    data: Path,
    out: Path,
    calib: int,
    seed: int,
    val_fraction: float,
    command: str,
    domains: Path | None = None,
) -> dict[str, Any]:
    """Quantise ``src`` into ``out`` (folder) with its card and statistics; the card."""
    from hemoscope.training.colour_reference import nominal_crops
    from hemoscope.training.descriptor_spread import descriptor_spread
    from hemoscope.training.export_classifier import (
        framed_crops,
        refit_unfamiliar,
        stress_table,
        val_metrics,
    )
    from hemoscope.training.pbc_data import load_all
    from hemoscope.training.train_classifier import CLASSES
    from hemoscope.vision.datasets import list_samples, stratified_split

    if is_quantised(src):
        raise SystemExit(f"{src} is quantised already: quantise its float source")
    card = load_card(src)
    if card.get("classes") != list(CLASSES):
        raise SystemExit(f"{src}: its classes are not the taxonomy's {list(CLASSES)}")
    samples, _ = list_samples(data, CLASSES)
    train_s, val_s = stratified_split(samples, val_fraction, seed)
    rng = np.random.default_rng(CALIBRATION_SEED)
    pick = sorted(rng.choice(len(train_s), min(calib, len(train_s)), replace=False))
    log.info("activation ranges from %d training crops", len(pick))
    calib_crops = nominal_crops([train_s[i].path for i in pick])
    others: dict[str, int] = {}
    if domains is not None:
        extra, others = domain_crops(card, domains)
        log.info("and %d unlabelled cells of other laboratories: %s", len(extra), others)
        calib_crops = np.concatenate([calib_crops, extra])
    out.mkdir(parents=True, exist_ok=True)
    dst = out / "classifier.onnx"
    quantise_graph(src, dst, calib_crops)
    stats = src.with_suffix(".unfamiliar.npz")
    if stats.is_file():  # replaced below; present so that the card loads meanwhile
        shutil.copy(stats, dst.with_suffix(".unfamiliar.npz"))

    log.info("validation split: %d cells", len(val_s))
    val_images = load_all(val_s)
    y = np.array([s.label for s in val_s], np.int64)
    val_crops = framed_crops(val_images, int(card["crop_rule"]["size"]), "nominal")
    float_logits, _ = Classifier(src).logits_and_embedding(val_crops, turns=1)
    new = dict(card)
    new.update(
        version=dt.date.today().strftime("%Y.%m.%d") + ".int8",
        date=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        file=dst.name,
        sha256=file_sha256(dst),
        size_bytes=dst.stat().st_size,
    )
    dst.with_suffix(".json").write_text(json.dumps(new, indent=2) + "\n", encoding="utf-8")
    int8_logits, _ = Classifier(dst).logits_and_embedding(val_crops, turns=1)
    temperature = fit_temperature(int8_logits, y)
    threshold = float(card["review_threshold"])
    metrics = val_metrics(int8_logits, y, temperature, threshold, list(CLASSES))
    float_metrics = val_metrics(float_logits, y, float(card["temperature"]), threshold,
                                list(CLASSES))  # fmt: skip
    same = float((int8_logits.argmax(1) == float_logits.argmax(1)).mean())
    new["temperature"] = round(temperature, 4)
    new["quantisation"] = quantisation_entry(
        src, card, command, float_metrics, (len(pick), others, domains)
    )
    new["quantisation"].update(
        val_same_class=round(same, 4),
        val_max_abs_logit_diff=round(float(np.abs(int8_logits - float_logits).max()), 4),
    )
    kept = {k: v for k, v in card.get("metrics", {}).items()
            if k not in metrics and k not in ("onnx_torch_max_abs_diff", "stress")}  # fmt: skip
    new["metrics"] = {**metrics, **kept}
    new["metrics"]["stress"] = stress_table(Classifier(dst), val_images, y)
    dst.with_suffix(".json").write_text(json.dumps(new, indent=2) + "\n", encoding="utf-8")
    score = str(card.get("unfamiliar", {}).get("score", "mahalanobis"))
    refit_unfamiliar(dst, data, seed, val_fraction, command, score)
    if "descriptor_spread" in card:
        descriptor_spread(dst, data, seed, val_fraction, command)
    log.info(
        "int8: %.4f of validation cells right (float %.4f), %.4f given the float class, "
        "%.1f -> %.1f MiB",
        metrics["val_accuracy"],
        float_metrics["val_accuracy"],
        same,
        src.stat().st_size / 2**20,
        dst.stat().st_size / 2**20,
    )
    return load_card(dst)
