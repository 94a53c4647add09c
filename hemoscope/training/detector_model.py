"""Cell detector: an anchor-free centre-heat-map network (CenterNet-style).

A residual backbone down to stride 32, a top-down feature pyramid merged back to
stride 4, and three heads per position: class heat maps (WBC, RBC, platelet), log box
size and sub-pixel centre offset. The exported graph also finds the local maxima
(3x3 max-pool), so run time only thresholds the peaks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hemoscope.training.layers import Normalise, conv_bn_relu, stage

STRIDE = 4
INPUT_LONG_SIDE = 320
MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)
HEAT_PRIOR = 0.01


class CellDetector(nn.Module):
    def __init__(
        self,
        num_classes: int = 3,
        widths: tuple[int, int, int, int] = (32, 64, 128, 192),
        blocks: tuple[int, int, int, int] = (1, 2, 2, 2),
        neck: int = 64,
    ) -> None:
        super().__init__()
        self.norm = Normalise(MEAN, STD)
        self.stem = nn.Sequential(conv_bn_relu(3, 24, 2), conv_bn_relu(24, widths[0], 2))
        self.s4 = stage(widths[0], widths[0], blocks[0], 1)
        self.s8 = stage(widths[0], widths[1], blocks[1], 2)
        self.s16 = stage(widths[1], widths[2], blocks[2], 2)
        self.s32 = stage(widths[2], widths[3], blocks[3], 2)
        self.lat = nn.ModuleList(nn.Conv2d(w, neck, 1) for w in widths)
        self.smooth = nn.ModuleList(conv_bn_relu(neck, neck) for _ in range(3))
        self.heat = self._head(neck, num_classes)
        self.size = self._head(neck, 2)
        self.offset = self._head(neck, 2)
        last = self.heat[-1]
        assert isinstance(last, nn.Conv2d) and last.bias is not None
        nn.init.constant_(last.bias, float(torch.logit(torch.tensor(HEAT_PRIOR))))

    @staticmethod
    def _head(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(cin, cin, 3, 1, 1), nn.ReLU(inplace=True), nn.Conv2d(cin, cout, 1)
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Raw outputs: heat-map logits, log size (input pixels), offset (cells)."""
        c4 = self.s4(self.stem(self.norm(x)))
        c8 = self.s8(c4)
        c16 = self.s16(c8)
        c32 = self.s32(c16)
        p = self.lat[3](c32)
        for lat, smooth, c in zip(
            (self.lat[2], self.lat[1], self.lat[0]), self.smooth, (c16, c8, c4), strict=True
        ):
            p = smooth(lat(c) + F.interpolate(p, size=c.shape[-2:], mode="nearest"))
        return self.heat(p), self.size(p), self.offset(p)


class DetectorExport(nn.Module):
    """The shipped graph: peak-suppressed heat (0..1), box size (px), offset (cells)."""

    def __init__(self, model: CellDetector) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        logits, log_size, offset = self.model(x)
        heat = torch.sigmoid(logits)
        peak = F.max_pool2d(heat, 3, 1, 1)
        heat = heat * (peak == heat).to(heat.dtype)
        return heat, torch.exp(log_size.clamp(-2.0, 7.0)), offset
