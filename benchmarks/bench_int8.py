"""An 8-bit version of the shipped classifier: its cost per cell and how often it agrees.

    python benchmarks/bench_int8.py [--data ../shared/data] [--calib 256] [--every 2]
                                    [--threads 2]

The shipped classifier is quantised with ONNX Runtime's static quantisation into a
temporary folder: QDQ format, weights int8 per output channel, activations uint8 with
MinMax ranges from ``--calib`` crops of PBC's *training* split (the classifier's own
split, framed as run time frames them; never its validation cells), once with 8-bit
weights and once with ``reduce_range`` (7-bit weights: on x86 processors without VNNI
the 8-bit products can saturate in 16 bits, so only the 7-bit variant is exact
everywhere). Each variant gets a copy of the card (sha256 and size its own) and the
unfamiliar-cell statistics as shipped, and goes through the cross-lab measurement of
`benchmarks/cross_lab.py` (``--every`` n-th cell of each set) beside the float model.
Printed per variant: the classifier's cost per cell (``classify_crops``, batch 16, the
card's turns, best of 9), the model file's size, and per set accuracy, balanced
accuracy, unflagged right, flagged and the share of cells given the float model's class.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import cross_lab as cross_lab_bench  # noqa: E402  (benchmarks/cross_lab.py)
from _common import time_calls  # noqa: E402

from hemoscope.vision import cross_lab  # noqa: E402
from hemoscope.vision.classifier import Classifier, graph_input  # noqa: E402
from hemoscope.vision.datasets import list_samples, load_rgb, stratified_split  # noqa: E402
from hemoscope.vision.detector import Detector  # noqa: E402
from hemoscope.vision.model_card import file_sha256, models_dir  # noqa: E402
from hemoscope.vision.single_cell import frame_single_cell  # noqa: E402


def calibration_crops(data: Path, clf: Classifier, n: int, threads: int) -> np.ndarray:
    """``n`` crops of PBC's training split, drawn at random (seed 0)."""
    samples, _ = list_samples(data / "pbc", clf.classes)
    training = clf.card.get("training", {})
    seed = int(training.get("split_seed", training.get("seed", cross_lab_bench.PBC_SEED)))
    train, _ = stratified_split(samples, cross_lab_bench.PBC_VAL_FRACTION, seed)
    pick = np.random.default_rng(0).choice(len(train), min(n, len(train)), replace=False)
    finder = Detector(threads=threads)
    return np.stack(
        [
            frame_single_cell(
                load_rgb(train[i].path), clf.input_size, clf.crop_scale, finder, "rgb"
            )[0]
            for i in pick
        ]
    )


def quantise(src: Path, out: Path, crops: np.ndarray, reduce_range: bool) -> Path:
    """The int8 model of ``src`` in folder ``out``, with its card and statistics."""
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

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    out.mkdir(parents=True, exist_ok=True)
    prepared = out / "prepared.onnx"
    quant_pre_process(str(src), str(prepared))
    model = out / "classifier.onnx"
    quantize_static(
        str(prepared),
        str(model),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        reduce_range=reduce_range,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
    )
    prepared.unlink()
    card = json.loads(src.with_suffix(".json").read_text(encoding="utf-8"))
    card.update(sha256=file_sha256(model), size_bytes=model.stat().st_size)
    model.with_suffix(".json").write_text(json.dumps(card), encoding="utf-8")
    stats = src.with_name(src.stem + ".unfamiliar.npz")
    if stats.is_file():
        shutil.copy(stats, out / stats.name)
    return model


def cost_per_cell(model: Path, threads: int) -> float:
    """ms per cell of ``classify_crops`` at batch 16, best of 9 runs of 256 crops."""
    clf = Classifier(model, threads=threads)
    size = clf.input_size
    crops = np.random.default_rng(0).integers(0, 255, (256, size, size, 3), dtype=np.uint8)
    times = time_calls(lambda: clf.classify_crops(crops), warmup=1, repeats=9)
    return 1000 * min(times) / len(crops)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--calib", type=int, default=256, help="PBC training crops for ranges")
    parser.add_argument("--every", type=int, default=2, help="every n-th cell of each set")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if not (args.data / "pbc").is_dir():
        print(f"{args.data / 'pbc'} is not there", file=sys.stderr)
        return 1
    src = models_dir() / "classifier.onnx"
    shipped = Classifier(src, threads=args.threads)
    crops = calibration_crops(args.data, shipped, args.calib, args.threads)
    sets = cross_lab_bench.default_sets(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        variants = {
            "float (shipped)": src,
            "int8": quantise(src, Path(tmp) / "int8", crops, reduce_range=False),
            "int8, 7-bit weights": quantise(src, Path(tmp) / "int8-7", crops, reduce_range=True),
        }
        reference: dict[str, np.ndarray] = {}
        for name, model in variants.items():
            ms = cost_per_cell(model, args.threads)
            results = cross_lab_bench.run(sets, model, None, args.threads, args.every)
            print(f"\n{name}: {ms:.2f} ms per cell, {model.stat().st_size / 2**20:.1f} MiB")
            print(cross_lab.format_table(results))
            for res in results:
                pred = np.array([p.predicted for p in res.predictions])
                reference.setdefault(res.name, pred)
                same = float((pred == reference[res.name]).mean()) if len(pred) else 0.0
                print(f"  {res.name}: {same:.1%} of cells given the float model's class")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
