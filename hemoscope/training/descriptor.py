"""The classifier's ``features`` output: the pooled maps of its middle stages, which a
laboratory profile's head correction reads beside the embedding.

    python -m hemoscope.training features --model models/classifier.onnx \
        --data ../shared/data/pbc

A laboratory profile (`vision.lab_adapt`) corrects the shipped head with a linear map of
what the classifier saw. The embedding alone is the last stage's pooled map: the most
PBC-specific of the network's representations. The middle stages (every stage but the
first and the last) still describe colour and texture, which is what another
laboratory's stain changes, and what tells its eosinophils from its neutrophils when its
stain colours both alike. With them beside the embedding (`vision.classifier`'s
"descriptor"), profiles fitted on 50 / 100 of jiangxi's cells classified the rest 88.1 /
90.6 % right instead of 82.6 / 86.2 %, and on 10 / 100 of bionet's 88.2 / 94.9 % instead
of 81.8 / 94.4 % (five seeded draws each, `benchmarks/bench_adapt.py`). On one jiangxi
draw of 100 cells the embedding alone was refused: under cross-validation its
eosinophils fell to 3 of 7 (5 of 7 with the middle stages).

Each middle stage's map is averaged over its positions and over the crop and its mirror
image (as the embedding is), and multiplied by one constant per stage so that, on PBC's
validation crops (labels unused), its root mean square equals the embedding's: each
block of the descriptor then weighs alike in the profile's penalty. New exports carry the
output (`ClassifierExport`); `add_features` adds it to a graph exported before, leaving
every other output exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hemoscope.vision.classifier import graph_input

U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]

STAGE_OUTPUT = re.compile(r"^(?:/stages)?/stages\.(\d+)/stages\.\1\.(\d+)/Relu_output_0$")
"""How exporters name the output of each residual block of stage i (with the ``/stages``
scope when the stages ran as one module, without it when `stage_maps` runs them)."""
WHAT = (
    "each middle stage's map (every stage but the first and the last) averaged over its "
    "positions and over the crop and its mirror image, times one constant per stage "
    "(scales) that gives it the embedding's root mean square on PBC's validation crops; "
    "a laboratory profile's head correction reads the embedding followed by these "
    "(vision.classifier descriptor, vision.lab_adapt)"
)


def scales_from(embedding: F64, blocks: list[F64]) -> tuple[float, ...]:
    """Per block: the embedding's root mean square over the block's."""
    ref = _rms(embedding)
    return tuple(round(ref / _rms(b), 6) for b in blocks)


def _rms(a: npt.ArrayLike) -> float:
    v = float(np.sqrt(np.mean(np.square(np.asarray(a, np.float64)))))
    if not np.isfinite(v) or v <= 0:
        raise ValueError("a block of the classifier's maps is zero on every crop")
    return v


def features_entry(scales: tuple[float, ...], cells: int, command: str) -> dict[str, Any]:
    """The card's ``features`` entry."""
    return {"what": WHAT, "scales": list(scales), "cells": cells, "command": command}


def feature_width(model: Any) -> int:
    """Width of the ``features`` output of a `CellClassifier`."""
    return int(sum(model.widths[1:-1]))


def torch_feature_scales(model: Any, crops: U8, batch: int = 64) -> tuple[float, ...]:
    """`scales_from` of a `CellClassifier` on crops (N, S, S, 3) uint8, as exported."""
    import torch

    from hemoscope.training.classifier_model import stage_maps

    emb: list[F64] = []
    blocks: list[list[F64]] = [[] for _ in range(len(model.stages) - 2)]
    model.eval()
    with torch.no_grad():
        for s in range(0, len(crops), batch):
            x = torch.from_numpy(graph_input(crops[s : s + batch]))
            n = len(x)
            pooled = [m.mean(dim=(2, 3)) for m in stage_maps(model, torch.cat([x, x.flip(3)]))]
            halves = [((p[:n] + p[n:]) / 2).numpy().astype(np.float64) for p in pooled]
            emb.append(halves[-1])
            for i, h in enumerate(halves[1:-1]):
                blocks[i].append(h)
    return scales_from(np.concatenate(emb), [np.concatenate(b) for b in blocks])


def stage_outputs(graph: Any) -> list[str]:
    """The tensor each stage of an exported classifier ends with, stage by stage."""
    last: dict[int, tuple[int, str]] = {}
    for node in graph.node:
        for out in node.output:
            m = STAGE_OUTPUT.match(out)
            if m:
                stage, block = int(m.group(1)), int(m.group(2))
                if stage not in last or block > last[stage][0]:
                    last[stage] = (block, out)
    if len(last) < 3 or sorted(last) != list(range(len(last))):
        raise ValueError(f"expected the stages of a classifier graph, found {sorted(last)}")
    return [last[i][1] for i in sorted(last)]


def stage_probe(proto: Any, threads: int | None = None) -> tuple[Any, list[str]]:
    """An ONNX Runtime session of a classifier graph (an ``onnx.ModelProto``, left as it
    is) with each stage's output map as an extra output, and those outputs' names."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    stages = stage_outputs(proto.graph)
    probe = onnx.ModelProto()
    probe.CopyFrom(proto)
    for name in stages:
        probe.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    session = ort.InferenceSession(
        probe.SerializeToString(), opts, providers=["CPUExecutionProvider"]
    )
    return session, stages


def add_features(model: Path, crops: U8, command: str) -> dict[str, Any]:
    """Add the ``features`` output to an exported classifier that has none (in place),
    its scales measured on ``crops``; update its card (sha256, size, outputs,
    ``features``). Every other output stays as it was: checked on the crops."""
    import onnx
    import onnxruntime as ort

    proto = onnx.load(str(model))
    if any(o.name == "features" for o in proto.graph.output):
        raise SystemExit(f"{model.name} already has a features output")
    session, stages = stage_probe(proto)
    before, pooled = _run_probe(session, stages, crops)
    mirror = _mirrored(pooled[-1], before["embedding"], len(crops))
    views = [_views_averaged(p, len(crops), mirror) for p in pooled]
    scales = scales_from(views[-1], views[1:-1])
    widths = [v.shape[1] for v in views[1:-1]]
    _append_features(proto.graph, stages[1:-1], scales, widths, mirror)
    onnx.checker.check_model(proto)
    staged = model.with_name(model.name + ".partial")  # the file is replaced once checked
    onnx.save(proto, str(staged))
    after = ort.InferenceSession(str(staged), providers=["CPUExecutionProvider"])
    check = crops[:16]
    names = ["logits", "embedding", "features"]
    out = dict(zip(names, after.run(names, {"image": graph_input(check)}), strict=True))
    for key in ("logits", "embedding"):
        if not np.array_equal(out[key], before[key][: len(check)]):
            staged.unlink()
            raise RuntimeError(f"adding the features changed the graph's {key}")
    expected = np.hstack([v[: len(check)] * s for v, s in zip(views[1:-1], scales, strict=True)])
    if not np.allclose(out["features"], expected, atol=1e-4):
        staged.unlink()
        raise RuntimeError("the added features differ from the stages' pooled maps")
    os.replace(staged, model)
    entry = features_entry(scales, len(crops), command)
    _update_card(model, int(out["features"].shape[1]), entry)
    return entry


def _run_probe(session: Any, stages: list[str], crops: U8) -> tuple[dict[str, Any], list[F64]]:
    """The graph's logits and embeddings, and each stage's map averaged over its
    positions (rows as the graph holds them: crops, then their mirror images)."""
    out: dict[str, list[Any]] = {"logits": [], "embedding": []}
    pooled: list[list[F64]] = [[] for _ in stages]
    for s in range(0, len(crops), 32):
        x = graph_input(crops[s : s + 32])
        res = session.run(["logits", "embedding", *stages], {"image": x})
        out["logits"].append(res[0])
        out["embedding"].append(res[1])
        for i, m in enumerate(res[2:]):
            p = m.mean(axis=(2, 3), dtype=np.float64)
            pooled[i].append(p.reshape(-1, len(x), p.shape[1]))
    cat = {k: np.concatenate(v) for k, v in out.items()}
    return cat, [np.concatenate(p, axis=1).reshape(-1, p[0].shape[2]) for p in pooled]


def _mirrored(last: F64, embedding: Any, n: int) -> bool:
    """Whether the graph runs each crop and its mirror image (its last stage holds 2n
    rows per batch whose average is the embedding), checked against the embedding."""
    for mirror in (True, False):
        rows = (2 if mirror else 1) * n
        if len(last) == rows and np.allclose(
            _views_averaged(last, n, mirror), embedding, atol=1e-4
        ):
            return mirror
    raise ValueError("the last stage's pooled map does not give the graph's embedding")


def _views_averaged(pooled: F64, n: int, mirror: bool) -> F64:
    if not mirror:
        return pooled
    halves = pooled.reshape(2, n, -1)  # _run_probe keeps each batch's two halves apart
    return np.asarray(halves.mean(axis=0))


def _append_features(
    graph: Any, stages: list[str], scales: tuple[float, ...], widths: list[int], mirror: bool
) -> None:
    from onnx import TensorProto, helper, numpy_helper

    parts = []
    for i, (name, scale, width) in enumerate(zip(stages, scales, widths, strict=True)):
        p = f"/features/stage{i + 1}"
        graph.node.append(
            helper.make_node("ReduceMean", [name], [f"{p}/pooled"], axes=[2, 3], keepdims=0)
        )
        src = f"{p}/pooled"
        if mirror:
            shape = numpy_helper.from_array(np.array([2, -1, width], np.int64), f"{p}/two_views")
            graph.initializer.append(shape)
            graph.node.append(helper.make_node("Reshape", [src, f"{p}/two_views"], [f"{p}/views"]))
            graph.node.append(
                helper.make_node("ReduceMean", [f"{p}/views"], [f"{p}/mean"], axes=[0], keepdims=0)
            )
            src = f"{p}/mean"
        graph.initializer.append(numpy_helper.from_array(np.array(scale, np.float32), f"{p}/scale"))
        graph.node.append(helper.make_node("Mul", [src, f"{p}/scale"], [f"{p}/scaled"]))
        parts.append(f"{p}/scaled")
    graph.node.append(helper.make_node("Concat", parts, ["features"], axis=1))
    out = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["n", sum(widths)])
    graph.output.append(out)


def _update_card(model: Path, width: int, entry: dict[str, Any]) -> None:
    card_path = model.with_suffix(".json")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["sha256"] = hashlib.sha256(model.read_bytes()).hexdigest()
    card["size_bytes"] = model.stat().st_size
    card.setdefault("outputs", {})["features"] = ["n", width]
    card["features"] = entry
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
