"""White-cell classifier: a compact residual network with global pooling.

Outputs logits, the pooled embedding (for the cell map) and class activation maps
(the linear head applied at every position of the last feature map).
"""

from __future__ import annotations

import torch
from torch import nn

from hemoscope.training.layers import GreyNormalise, Norm, Normalise, conv_bn_relu, stage

INPUT_SIZE = 128
MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)


class CellClassifier(nn.Module):
    def __init__(
        self,
        num_classes: int,
        widths: tuple[int, int, int, int] = (32, 64, 128, 192),
        blocks: tuple[int, int, int, int] = (2, 2, 2, 2),
        dropout: float = 0.2,
        norm: Norm = "batch",
        colour: str = "rgb",
    ) -> None:
        super().__init__()
        self.norm_kind = norm
        self.widths = widths
        self.colour = colour
        self.norm = input_norm(colour)
        self.stem = nn.Sequential(
            conv_bn_relu(3, 24, 2, norm=norm), conv_bn_relu(24, widths[0], 2, norm=norm)
        )
        stages = []
        cin = widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks, strict=True)):
            stages.append(stage(cin, w, n, 1 if i == 0 else 2, norm))
            cin = w
        self.stages = nn.Sequential(*stages)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(cin, num_classes)
        self.embedding_dim = cin

    def features(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.stages(self.stem(self.norm(x)))
        return out

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The embedding: the last feature map averaged over its positions."""
        return self.features(x).mean(dim=(2, 3))

    def classify(self, embedding: torch.Tensor) -> torch.Tensor:
        """Logits of embeddings (dropout while training)."""
        logits: torch.Tensor = self.head(self.dropout(embedding))
        return logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.pooled(x))


class ClassifierExport(nn.Module):
    """The graph shipped as ONNX: (logits, embedding, cam, features) from RGB 0..1 input.

    With ``mirror=True`` each crop is also classified as its mirror image and the two
    logits (and embeddings) are averaged: a cell has no left or right, and averaging the
    two views removes some of the network's orientation noise (+0.14 points of validation
    accuracy for twice the compute). Class activation maps come from the crop as given.
    ``features``: each middle stage's map (all but the first and the last) averaged over
    its positions and the two views, times ``feature_scales`` (one per middle stage,
    `training.descriptor`); ``features=False`` leaves the output out (graphs exported
    before it existed, which `descriptor.add_features` completes).
    """

    def __init__(
        self,
        model: CellClassifier,
        mirror: bool = True,
        feature_scales: tuple[float, ...] | None = None,
        features: bool = True,
    ) -> None:
        super().__init__()
        self.model = model
        self.mirror = mirror
        self.features = features
        middle = len(model.stages) - 2
        scales = feature_scales if feature_scales is not None else (1.0,) * middle
        if len(scales) != middle:
            raise ValueError(f"{middle} middle stages, {len(scales)} feature scales")
        self.feature_scales = tuple(float(v) for v in scales)  # constants of the graph

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        n = x.shape[0]
        both = torch.cat([x, x.flip(3)], dim=0) if self.mirror else x
        maps = stage_maps(self.model, both)
        f = maps[-1]
        emb = f.mean(dim=(2, 3))
        logits = self.model.head(emb)
        middle = [
            m.mean(dim=(2, 3)) * s for m, s in zip(maps[1:-1], self.feature_scales, strict=True)
        ]
        feats = torch.cat(middle, dim=1)
        if self.mirror:
            emb = (emb[:n] + emb[n:]) / 2
            logits = (logits[:n] + logits[n:]) / 2
            feats = (feats[:n] + feats[n:]) / 2
        w = self.model.head.weight  # (classes, channels)
        cam = torch.einsum("nchw,kc->nkhw", f[:n], w)
        return (logits, emb, cam, feats) if self.features else (logits, emb, cam)


def stage_maps(model: CellClassifier, x: torch.Tensor) -> list[torch.Tensor]:
    """The output map of each stage of ``model`` for input ``x``."""
    h = model.stem(model.norm(x))
    maps = []
    for st in model.stages:
        h = st(h)
        maps.append(h)
    return maps


class ExportedLogits(nn.Module):
    """Logits exactly as the shipped graph computes them (for calibration and parity)."""

    def __init__(self, model: CellClassifier) -> None:
        super().__init__()
        self.export = ClassifierExport(model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.export(x)[0]
        return logits


def input_norm(colour: str) -> Normalise:
    """The input normalisation of a classifier taking colour (``rgb``) or luminance only
    (``grey``)."""
    if colour not in ("rgb", "grey"):
        raise SystemExit(f"unknown input colour '{colour}' (rgb or grey)")
    return GreyNormalise(MEAN, STD) if colour == "grey" else Normalise(MEAN, STD)


def set_colour(model: CellClassifier, colour: str) -> CellClassifier:
    """``model`` taking its input in colour (``rgb``) or as luminance only (``grey``)."""
    new = input_norm(colour)
    new.load_state_dict(model.norm.state_dict())  # the statistics the weights came with
    model.colour = colour
    model.norm = new
    return model
