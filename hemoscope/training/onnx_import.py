"""Start training from a shipped classifier ONNX file (fine-tuning without its checkpoint).

The exported graph has each BatchNorm folded into the convolution before it (weight
scaled, bias added). Importing puts the folded weights back into `CellClassifier`: each
convolution takes the folded weight and its BatchNorm becomes the identity with the
folded bias (running mean 0, running variance 1 - eps, scale 1). In evaluation mode the
network then computes exactly what the ONNX graph computes (checked by `import_onnx`).
Training from it needs the normalisation statistics frozen (``--freeze-norm``, which
``--init FILE.onnx`` implies): batch statistics would replace the identity and change
what the network computes.

An 8-bit file (QDQ, `training.quantise`, what the station ships) is imported with its
weights dequantised; its activations were quantised too, so the network computes what
the file computes only within `QUANTISED_TOLERANCE`. For the exact weights, start from
the float source its card names (``quantisation.source``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from google.protobuf.message import DecodeError
from onnx import numpy_helper
from torch import nn
from torch.nn import functional as F

from hemoscope.training.classifier_model import INPUT_SIZE, CellClassifier, ClassifierExport

# Largest logit difference accepted between an 8-bit graph and its dequantised weights
# in float (the shipped classifier: 0.18 on smooth random images, 0.06 on PBC crops).
QUANTISED_TOLERANCE = 0.5


def _initialisers(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Every initialiser by name, and every DequantizeLinear of initialisers (a QDQ
    graph's weights and biases) by its output's name, dequantised."""
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in inits:
            continue
        q = inits[node.input[0]].astype(np.float64)
        scale = inits[node.input[1]].astype(np.float64)
        zero = inits[node.input[2]].astype(np.float64) if len(node.input) > 2 else 0.0
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        if np.ndim(scale) == 1 and q.ndim > 1:
            shape = [1] * q.ndim
            shape[axis] = -1
            scale = scale.reshape(shape)
            zero = np.reshape(zero, shape) if np.ndim(zero) else zero
        inits[node.output[0]] = ((q - zero) * scale).astype(np.float32)
    return inits


def _in_module_order(
    convs: list[onnx.NodeProto],
    pairs: list[tuple[nn.Conv2d, nn.BatchNorm2d]],
    inits: dict[str, np.ndarray],
) -> list[onnx.NodeProto]:
    """The graph's convolutions matched to the network's in forward order: for each, the
    first one left with its weight's shape. A residual block's shortcut and its main
    convolutions differ in shape, so a graph that runs the shortcut first (as the
    quantiser's sorted graph does) still matches; convolutions of one shape follow each
    other's data."""
    left = list(convs)
    order = []
    for conv, _ in pairs:
        want = tuple(conv.weight.shape)
        match = next(
            (n for n in left if n.input[1] in inits and inits[n.input[1]].shape == want), None
        )
        if match is None:
            raise ValueError(f"no convolution with a {want} weight left in the graph")
        left.remove(match)
        order.append(match)
    return order


def _conv_bn_pairs(model: nn.Module) -> list[tuple[nn.Conv2d, nn.BatchNorm2d]]:
    """(convolution, its BatchNorm) in the order the forward pass runs them."""
    mods = list(model.modules())
    pairs = []
    for i, m in enumerate(mods):
        if isinstance(m, nn.Conv2d):
            bn = mods[i + 1]
            if not isinstance(bn, nn.BatchNorm2d):
                raise ValueError("every convolution must be followed by its BatchNorm")
            pairs.append((m, bn))
    return pairs


def import_for(option: str, model_path: Path, classes: tuple[str, ...]) -> CellClassifier:
    """`import_onnx` for a command-line option (``--init``, ``--distil``): a missing file or
    one of another architecture ends the run with a message naming the option."""
    if not model_path.is_file():
        raise SystemExit(f"{option} {model_path}: no such classifier file")
    try:
        return import_onnx(model_path, classes)
    except (ValueError, OSError, DecodeError) as exc:
        raise SystemExit(
            f"{option} {model_path}: not a classifier this training can start from ({exc})"
        ) from exc


def import_onnx(
    model_path: Path, classes: tuple[str, ...], tolerance: float = 1e-3
) -> CellClassifier:
    """A `CellClassifier` computing what ``model_path`` computes. Raises ValueError when
    the graph does not match the architecture or the outputs differ beyond tolerance."""
    graph = onnx.load(str(model_path)).graph
    inits = _initialisers(graph)
    if any(n.op_type == "DequantizeLinear" for n in graph.node):
        tolerance = max(tolerance, QUANTISED_TOLERANCE)
    convs = [n for n in graph.node if n.op_type == "Conv"]
    gemm = [n for n in graph.node if n.op_type == "Gemm"]
    model = CellClassifier(len(classes))
    pairs = _conv_bn_pairs(model)
    if len(convs) != len(pairs) or len(gemm) != 1:
        raise ValueError(
            f"{model_path.name}: {len(convs)} convolutions and {len(gemm)} linear layers, "
            f"the architecture has {len(pairs)} and 1"
        )
    with torch.no_grad():
        for node, (conv, bn) in zip(_in_module_order(convs, pairs, inits), pairs, strict=True):
            w = inits[node.input[1]]
            b = inits[node.input[2]] if len(node.input) > 2 else np.zeros(w.shape[0], np.float32)
            conv.weight.copy_(torch.from_numpy(np.array(w)))
            bn.weight.fill_(1.0)
            bn.bias.copy_(torch.from_numpy(np.array(b)))
            assert bn.running_mean is not None and bn.running_var is not None
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
        head_w = inits[gemm[0].input[1]]
        head_b = inits[gemm[0].input[2]]
        model.head.weight.copy_(torch.from_numpy(np.array(head_w)))
        model.head.bias.copy_(torch.from_numpy(np.array(head_b)))
    model.eval()
    _check_parity(model, model_path, tolerance)
    return model


def _check_parity(model: CellClassifier, model_path: Path, tolerance: float) -> None:
    # Smooth random images (8 x 8 values, bilinear): pixel noise would lie outside the
    # activation ranges an 8-bit graph was calibrated on, and saturate them.
    coarse = np.random.default_rng(0).random((4, 3, 8, 8), dtype=np.float32)
    x = F.interpolate(torch.from_numpy(coarse), size=INPUT_SIZE, mode="bilinear").numpy()
    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    want = sess.run(["logits"], {"image": x})[0]
    with torch.no_grad():
        got = ClassifierExport(model).eval()(torch.from_numpy(x))[0].numpy()
    diff = float(np.abs(got - want).max())
    if diff > tolerance:
        raise ValueError(f"imported weights differ from {model_path.name} by {diff:.2e} in logits")
