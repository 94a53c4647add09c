"""Detector latency per 640x480 field with 1 and 2 threads, and peak memory.

    python benchmarks/bench_detector.py [--model FILE] [--images DIR] [--repeats 100]
                                        [--compare OTHER.onnx ...]

Uses real fields from ../shared/data/txl-pbc/images/val (640x480 ones) when present,
else generated smear-like fields. Each figure is the whole ``Detector.detect`` call:
colour conversion, letterbox, ONNX Runtime, decoding, NMS and mapping back.

``--compare`` also times the bare ONNX Runtime call of other detectors' graphs (for
example a YOLO export) at their own input size, dynamic sizes taken as 480 x 640, next
to this detector's bare graph at its letterboxed input: graph against graph, without
either side's decoding or NMS.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mib, summary_ms, time_calls

from hemoscope.vision.detector import Detector
from hemoscope.vision.letterbox import letterbox

DEFAULT_IMAGES = Path(__file__).resolve().parents[1].parent / "shared/data/txl-pbc/images/val"


def fields(folder: Path, n: int = 16) -> list[np.ndarray]:
    out = []
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            img = cv2.imread(str(p))
            if img is not None and img.shape[:2] == (480, 640):
                out.append(img)
            if len(out) == n:
                break
    if not out:
        rng = np.random.default_rng(0)
        for _ in range(n):
            img = np.full((480, 640, 3), (225, 215, 235), np.uint8)
            for _ in range(40):
                c = (int(rng.integers(0, 640)), int(rng.integers(0, 480)))
                cv2.circle(img, c, int(rng.integers(30, 45)), (170, 150, 215), -1)
            out.append(img)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--images", type=Path, default=DEFAULT_IMAGES)
    ap.add_argument("--repeats", type=int, default=100)
    ap.add_argument("--compare", type=Path, nargs="*", default=[], metavar="ONNX")
    args = ap.parse_args()
    imgs = fields(args.images)
    source = "real 640x480 fields" if args.images.is_dir() else "generated 640x480 fields"
    print(f"detector latency per field ({len(imgs)} {source}, {args.repeats} calls each)")
    for threads in (1, 2):
        det = Detector(args.model, threads=threads)
        i = iter(range(10**9))
        times = time_calls(
            lambda det=det, i=i: det.detect(imgs[next(i) % len(imgs)]), 10, args.repeats
        )
        med, p95 = summary_ms(times)
        label = f"{threads} thread{'s' if threads > 1 else ' '}"
        print(f"  {label}: median {med:6.1f} ms   p95 {p95:6.1f} ms")
    print(f"peak RSS {peak_rss_mib():.0f} MiB (process, both sessions loaded)")
    if args.compare:
        ours = Detector(args.model)
        shape = letterbox(imgs[0], ours.long_side)[0].shape
        graphs = [(ours.path, (1, 3, shape[0], shape[1]))]
        graphs += [(p, graph_input_shape(p)) for p in args.compare]
        print("bare ONNX Runtime call per field (no decoding or NMS)")
        for path, shape in graphs:
            for threads in (1, 2):
                med, p95 = summary_ms(time_graph(path, shape, threads, args.repeats))
                print(
                    f"  {path.name} {shape[2]}x{shape[3]}, {threads} thread(s): "
                    f"median {med:6.1f} ms   p95 {p95:6.1f} ms"
                )


def graph_input_shape(path: Path) -> tuple[int, int, int, int]:
    """The graph's first input shape, with dynamic sizes as one 480 x 640 field."""
    dims = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_inputs()[0]
    fill = (1, 3, 480, 640)
    n, c, h, w = (d if isinstance(d, int) else fill[i] for i, d in enumerate(dims.shape))
    return n, c, h, w


def time_graph(path: Path, shape: tuple[int, ...], threads: int, repeats: int) -> list[float]:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    feed = {sess.get_inputs()[0].name: np.random.default_rng(0).random(shape, np.float32)}
    return time_calls(lambda: sess.run(None, feed), 10, repeats)


if __name__ == "__main__":
    main()
