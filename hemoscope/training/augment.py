"""Batched photometric augmentation on the CPU (torch).

Other laboratories' images differ from the training sets in stain (hue, saturation,
haematoxylin/eosin balance), white balance, exposure, focus, noise and compression.
Every transform here works on a float batch ``(N, 3, H, W)`` in RGB, values in 0..1,
and draws its own random parameters per sample from a ``torch.Generator`` so runs are
seeded and reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

# Ruifrok & Johnston stain vectors (haematoxylin, eosin, DAB) as rows, in OD space;
# the same matrix scikit-image uses for rgb2hed. May-Grünwald Giemsa is not H&E, but
# the two dyes (basic blue/purple, acidic pink) span a similar colour plane.
_RGB_FROM_HED = torch.tensor(
    [[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]], dtype=torch.float32
)
_RGB_FROM_HED = _RGB_FROM_HED / _RGB_FROM_HED.norm(dim=1, keepdim=True)
_HED_FROM_RGB = torch.linalg.inv(_RGB_FROM_HED)


@dataclass(frozen=True)
class PhotometricConfig:
    """Strength of each augmentation; probabilities are per sample."""

    hed_scale: float = 0.25  # H/E/D concentrations scaled by U(1-s, 1+s)
    hed_shift: float = 0.04
    brightness: float = 0.25
    contrast: float = 0.3
    saturation: float = 0.4
    hue: float = 0.06  # fraction of a full turn
    gamma: tuple[float, float] = (0.7, 1.5)
    white_balance: float = 0.15  # per-channel gain U(1-w, 1+w)
    p_blur: float = 0.4
    blur_sigma: tuple[float, float] = (0.4, 2.2)
    p_noise: float = 0.35
    noise_std: tuple[float, float] = (0.005, 0.04)
    p_jpeg: float = 0.3
    jpeg_quality: tuple[int, int] = (25, 90)
    p_gray: float = 0.02
    p_lowres: float = 0.0  # share of samples taken down to a lower resolution and back
    lowres: tuple[float, float] = (0.35, 0.8)  # the lower resolution, x the crop's side


WIDE = PhotometricConfig(
    hed_scale=0.5,
    hed_shift=0.08,
    brightness=0.35,
    contrast=0.4,
    saturation=0.6,
    hue=0.15,
    gamma=(0.6, 1.8),
    white_balance=0.35,
    p_blur=0.55,
    blur_sigma=(0.4, 3.0),
    p_noise=0.4,
    noise_std=(0.005, 0.05),
    p_jpeg=0.4,
    jpeg_quality=(20, 90),
    p_gray=0.02,
    p_lowres=0.35,
)
"""Other laboratories' cameras and stains, far wider than PBC's own variation: stain
concentrations x0.5-1.5, hue +-54 degrees, white balance x0.65-1.35, strong blur, and
pictures taken at a third to four fifths of the resolution (a lower magnification)."""

OPTICS = PhotometricConfig(
    p_blur=0.55,
    blur_sigma=(0.4, 3.0),
    p_noise=0.4,
    noise_std=(0.005, 0.05),
    p_jpeg=0.4,
    jpeg_quality=(20, 90),
    p_lowres=0.35,
)
"""PBC's own colour variation with other laboratories' optics: the blur, noise,
compression and lower resolutions of `WIDE`, but not its stain and hue ranges (which
made PBC's eosinophils look like another stain's neutrophils)."""

AUGMENTATIONS = {"pbc": PhotometricConfig(), "wide": WIDE, "optics": OPTICS}


def _uniform(g: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    return torch.rand(n, generator=g) * (hi - lo) + lo


def _apply_matrix(
    x: torch.Tensor, m: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """Per-sample colour transform: ``y[n, :, i, j] = m[n] @ x[n, :, i, j] + bias[n]``."""
    n, c, h, w = x.shape
    flat = x.permute(0, 2, 3, 1).reshape(n, h * w, c)
    out = torch.bmm(flat, m.transpose(1, 2))
    if bias is not None:
        out = out + bias.view(n, 1, c)
    return out.view(n, h, w, c).permute(0, 3, 1, 2)


def hed_jitter(x: torch.Tensor, g: torch.Generator, scale: float, shift: float) -> torch.Tensor:
    """Randomly change stain concentrations in optical-density space.

    With row vectors, od' = ((od @ HED_FROM_RGB) * alpha + beta) @ RGB_FROM_HED, one
    3x3 matrix and an offset per sample.
    """
    n = x.shape[0]
    od = -torch.log(x.clamp(1.0 / 255.0, 1.0))
    alpha = _uniform(g, n * 3, 1 - scale, 1 + scale).view(n, 3)
    beta = _uniform(g, n * 3, -shift, shift).view(n, 3)
    m_row = _HED_FROM_RGB.unsqueeze(0) * alpha.unsqueeze(1) @ _RGB_FROM_HED  # (n, 3, 3)
    bias = beta @ _RGB_FROM_HED
    od = _apply_matrix(od, m_row.transpose(1, 2), bias)
    return torch.exp(-od).clamp(0.0, 1.0)


_LUMA = torch.tensor([0.299, 0.587, 0.114])
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_YIQ_TO_RGB = torch.linalg.inv(_RGB_TO_YIQ)


def colour_jitter(x: torch.Tensor, g: torch.Generator, cfg: PhotometricConfig) -> torch.Tensor:
    """Brightness, contrast, saturation, hue (a YIQ rotation), gamma and white balance.

    The linear parts combine into one 3x3 matrix per sample.
    """
    n = x.shape[0]
    view = (n, 1, 1, 1)
    eye = torch.eye(3).expand(n, 3, 3)
    bright = _uniform(g, n, 1 - cfg.brightness, 1 + cfg.brightness).view(n, 1, 1)
    sat = _uniform(g, n, 1 - cfg.saturation, 1 + cfg.saturation).view(n, 1, 1)
    gray = _LUMA.view(1, 1, 3).expand(n, 3, 3)
    m_sat = sat * eye + (1 - sat) * gray
    angle = _uniform(g, n, -cfg.hue, cfg.hue) * 2 * math.pi
    rot = torch.zeros(n, 3, 3)
    rot[:, 0, 0] = 1.0
    rot[:, 1, 1], rot[:, 1, 2] = torch.cos(angle), -torch.sin(angle)
    rot[:, 2, 1], rot[:, 2, 2] = torch.sin(angle), torch.cos(angle)
    m_hue = _YIQ_TO_RGB @ rot @ _RGB_TO_YIQ
    x = _apply_matrix(x, bright * (m_hue @ m_sat))
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * _uniform(g, n, 1 - cfg.contrast, 1 + cfg.contrast).view(view) + mean
    lo, hi = cfg.gamma
    gamma = _uniform(g, n, math.log(lo), math.log(hi)).exp().view(view)
    x = x.clamp(1e-6, 1.0) ** gamma
    gains = _uniform(g, n * 3, 1 - cfg.white_balance, 1 + cfg.white_balance).view(n, 3, 1, 1)
    return (x * gains).clamp(0.0, 1.0)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Blur each sample with its own sigma (sigma <= 0 leaves it untouched)."""
    out = x.clone()
    for i in torch.nonzero(sigma > 0).flatten().tolist():
        s = float(sigma[i])
        radius = max(1, math.ceil(3 * s))
        t = torch.arange(-radius, radius + 1, dtype=x.dtype)
        k = torch.exp(-(t**2) / (2 * s * s))
        k = k / k.sum()
        img = x[i : i + 1]
        pad = (radius, radius, radius, radius)
        img = F.pad(img, pad, mode="replicate")
        img = F.conv2d(img, k.view(1, 1, 1, -1).repeat(3, 1, 1, 1), groups=3)
        img = F.conv2d(img, k.view(1, 1, -1, 1).repeat(3, 1, 1, 1), groups=3)
        out[i : i + 1] = img
    return out


def jpeg_artefacts(
    x: torch.Tensor, g: torch.Generator, p: float, q: tuple[int, int]
) -> torch.Tensor:
    chosen = torch.nonzero(torch.rand(x.shape[0], generator=g) < p).flatten().tolist()
    if not chosen:
        return x
    out = x.clone()
    for i in chosen:
        quality = int(torch.randint(q[0], q[1] + 1, (1,), generator=g))
        img = (x[i].permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            dec = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
            out[i] = torch.from_numpy(dec).permute(2, 0, 1).float() / 255.0
    return out


def low_resolution(
    x: torch.Tensor, g: torch.Generator, p: float, scale: tuple[float, float]
) -> torch.Tensor:
    """Some samples taken down to a lower resolution (area) and back up (bilinear), as a
    camera at a lower magnification sees the same cell."""
    chosen = torch.nonzero(torch.rand(x.shape[0], generator=g) < p).flatten().tolist()
    if not chosen:
        return x
    out = x.clone()
    size = x.shape[-1]
    for i in chosen:
        side = max(8, round(size * float(_uniform(g, 1, *scale))))
        small = F.interpolate(x[i : i + 1], size=(side, side), mode="area")
        out[i : i + 1] = F.interpolate(small, size=(size, size), mode="bilinear")
    return out


def photometric(x: torch.Tensor, g: torch.Generator, cfg: PhotometricConfig) -> torch.Tensor:
    """The full photometric chain: resolution, stain, colour, focus, noise, compression."""
    n = x.shape[0]
    if cfg.p_lowres > 0:
        x = low_resolution(x, g, cfg.p_lowres, cfg.lowres)
    x = hed_jitter(x, g, cfg.hed_scale, cfg.hed_shift)
    x = colour_jitter(x, g, cfg)
    gray = torch.rand(n, generator=g) < cfg.p_gray
    if gray.any():
        lum = (x[gray] * _LUMA.view(1, 3, 1, 1)).sum(1, keepdim=True)
        x[gray] = lum.expand(-1, 3, -1, -1)
    blur_on = torch.rand(n, generator=g) < cfg.p_blur
    sigma = _uniform(g, n, *cfg.blur_sigma) * blur_on
    x = gaussian_blur(x, sigma)
    noise_on = (torch.rand(n, generator=g) < cfg.p_noise).float().view(n, 1, 1, 1)
    std = _uniform(g, n, *cfg.noise_std).view(n, 1, 1, 1) * noise_on
    x = (x + torch.randn(x.shape, generator=g) * std).clamp(0.0, 1.0)
    return jpeg_artefacts(x, g, cfg.p_jpeg, cfg.jpeg_quality)
