"""Start training from a shipped classifier ONNX file (fine-tuning without its checkpoint).

The exported graph has each BatchNorm folded into the convolution before it (weight
scaled, bias added). Importing puts the folded weights back into `CellClassifier`: each
convolution takes the folded weight and its BatchNorm becomes the identity with the
folded bias (running mean 0, running variance 1 - eps, scale 1). In evaluation mode the
network then computes exactly what the ONNX graph computes (checked by `import_onnx`).
Training from it needs the normalisation statistics frozen (``--freeze-norm``, which
``--init FILE.onnx`` implies): batch statistics would replace the identity and change
what the network computes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper
from torch import nn

from hemoscope.training.classifier_model import INPUT_SIZE, CellClassifier, ClassifierExport


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


def import_onnx(
    model_path: Path, classes: tuple[str, ...], tolerance: float = 1e-3
) -> CellClassifier:
    """A `CellClassifier` computing what ``model_path`` computes. Raises ValueError when
    the graph does not match the architecture or the outputs differ beyond tolerance."""
    graph = onnx.load(str(model_path)).graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
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
        for node, (conv, bn) in zip(convs, pairs, strict=True):
            w = inits[node.input[1]]
            b = inits[node.input[2]] if len(node.input) > 2 else np.zeros(w.shape[0], np.float32)
            if tuple(w.shape) != tuple(conv.weight.shape):
                raise ValueError(
                    f"{node.name}: weight {w.shape}, expected {tuple(conv.weight.shape)}"
                )
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
    x = np.random.default_rng(0).random((4, 3, INPUT_SIZE, INPUT_SIZE), dtype=np.float32)
    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    want = sess.run(["logits"], {"image": x})[0]
    with torch.no_grad():
        got = ClassifierExport(model).eval()(torch.from_numpy(x))[0].numpy()
    diff = float(np.abs(got - want).max())
    if diff > tolerance:
        raise ValueError(f"imported weights differ from {model_path.name} by {diff:.2e} in logits")
