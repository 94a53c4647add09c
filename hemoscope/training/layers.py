"""Building blocks shared by the classifier and the detector.

``norm`` chooses the normalisation after each convolution: ``"batch"`` (BatchNorm: the
statistics of the training images, frozen at run time) or ``"group"`` (GroupNorm, 8
groups: each image normalised by its own statistics, which holds better when another
laboratory's camera and stain shift them; Tsutsui et al., ICASSP 2023).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

Norm = Literal["batch", "group"]
GROUPS = 8


def norm_layer(channels: int, norm: Norm = "batch") -> nn.Module:
    if norm == "group":
        return nn.GroupNorm(GROUPS if channels % GROUPS == 0 else 1, channels)
    return nn.BatchNorm2d(channels)


def conv_bn_relu(
    cin: int, cout: int, stride: int = 1, k: int = 3, norm: Norm = "batch"
) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, bias=False),
        norm_layer(cout, norm),
        nn.ReLU(inplace=True),
    )


class ResBlock(nn.Module):
    """Basic residual block (two 3x3 convolutions), optionally strided."""

    def __init__(self, cin: int, cout: int, stride: int = 1, norm: Norm = "batch") -> None:
        super().__init__()
        self.a = conv_bn_relu(cin, cout, stride, norm=norm)
        self.b = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), norm_layer(cout, norm))
        self.short: nn.Module
        if cin == cout and stride == 1:
            self.short = nn.Identity()
        else:
            self.short = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), norm_layer(cout, norm)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.b(self.a(x)) + self.short(x))


def stage(cin: int, cout: int, blocks: int, stride: int, norm: Norm = "batch") -> nn.Sequential:
    layers = [ResBlock(cin, cout, stride, norm)]
    layers += [ResBlock(cout, cout, norm=norm) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class Normalise(nn.Module):
    """Input normalisation inside the graph: the ONNX model takes RGB in 0..1."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: tuple[float, float, float], std: tuple[float, float, float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class GreyNormalise(Normalise):
    """`Normalise` of the crop's luminance (ITU-R BT.601 weights) in all three channels:
    a classifier that sees no hue, only brightness, shape and texture (``--colour grey``).
    Same buffers as `Normalise`, so weights move between the two."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
        return (y.expand(-1, 3, -1, -1) - self.mean) / self.std
