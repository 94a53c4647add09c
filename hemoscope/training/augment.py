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


def _uniform(g: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    return torch.rand(n, generator=g) * (hi - lo) + lo


def hed_jitter(x: torch.Tensor, g: torch.Generator, scale: float, shift: float) -> torch.Tensor:
    """Randomly change stain concentrations in optical-density space."""
    n = x.shape[0]
    od = -torch.log(x.clamp(1.0 / 255.0, 1.0))
    hed = torch.einsum("nchw,cd->ndhw", od, _HED_FROM_RGB)
    alpha = _uniform(g, n * 3, 1 - scale, 1 + scale).view(n, 3, 1, 1)
    beta = _uniform(g, n * 3, -shift, shift).view(n, 3, 1, 1)
    hed = hed * alpha + beta
    od = torch.einsum("ndhw,dc->nchw", hed, _RGB_FROM_HED)
    return torch.exp(-od).clamp(0.0, 1.0)


def _rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    maxc, _ = x.max(dim=1)
    minc, _ = x.min(dim=1)
    v = maxc
    delta = maxc - minc
    s = torch.where(maxc > 0, delta / maxc.clamp_min(1e-8), torch.zeros_like(maxc))
    dc = delta.clamp_min(1e-8)
    rc, gc, bc = (maxc - r) / dc, (maxc - g) / dc, (maxc - b) / dc
    h = torch.where(maxc == r, bc - gc, torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = torch.where(delta > 0, (h / 6.0) % 1.0, torch.zeros_like(h))
    return torch.stack([h, s, v], dim=1)


def _hsv_to_rgb(x: torch.Tensor) -> torch.Tensor:
    h, s, v = x[:, 0], x[:, 1], x[:, 2]
    i = torch.floor(h * 6.0)
    f = h * 6.0 - i
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    i = i.long() % 6
    r = torch.stack([v, q, p, p, t, v], 1).gather(1, i.unsqueeze(1)).squeeze(1)
    g = torch.stack([t, v, v, q, p, p], 1).gather(1, i.unsqueeze(1)).squeeze(1)
    b = torch.stack([p, p, t, v, v, q], 1).gather(1, i.unsqueeze(1)).squeeze(1)
    return torch.stack([r, g, b], dim=1)


def colour_jitter(x: torch.Tensor, g: torch.Generator, cfg: PhotometricConfig) -> torch.Tensor:
    n = x.shape[0]
    view = (n, 1, 1, 1)
    x = x * _uniform(g, n, 1 - cfg.brightness, 1 + cfg.brightness).view(view)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * _uniform(g, n, 1 - cfg.contrast, 1 + cfg.contrast).view(view) + mean
    x = x.clamp(0.0, 1.0)
    hsv = _rgb_to_hsv(x)
    hue = _uniform(g, n, -cfg.hue, cfg.hue).view(n, 1, 1)
    sat = _uniform(g, n, 1 - cfg.saturation, 1 + cfg.saturation).view(n, 1, 1)
    hsv = torch.stack([(hsv[:, 0] + hue) % 1.0, (hsv[:, 1] * sat).clamp(0, 1), hsv[:, 2]], 1)
    x = _hsv_to_rgb(hsv)
    lo, hi = cfg.gamma
    log_gamma = _uniform(g, n, math.log(lo), math.log(hi)).exp().view(view)
    x = x.clamp(1e-6, 1.0) ** log_gamma
    gains = _uniform(g, n * 3, 1 - cfg.white_balance, 1 + cfg.white_balance).view(n, 3, 1, 1)
    return (x * gains).clamp(0.0, 1.0)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Blur each sample with its own sigma (sigma <= 0 leaves it untouched)."""
    out = x.clone()
    for i in torch.nonzero(sigma > 0).flatten().tolist():
        s = float(sigma[i])
        radius = max(1, int(math.ceil(3 * s)))
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


def jpeg_artefacts(x: torch.Tensor, g: torch.Generator, p: float, q: tuple[int, int]) -> torch.Tensor:
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


def photometric(x: torch.Tensor, g: torch.Generator, cfg: PhotometricConfig) -> torch.Tensor:
    """The full photometric chain: stain, colour, focus, noise, compression."""
    n = x.shape[0]
    x = hed_jitter(x, g, cfg.hed_scale, cfg.hed_shift)
    x = colour_jitter(x, g, cfg)
    gray = torch.rand(n, generator=g) < cfg.p_gray
    if gray.any():
        lum = (x[gray] * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        x[gray] = lum.expand(-1, 3, -1, -1)
    blur_on = torch.rand(n, generator=g) < cfg.p_blur
    sigma = _uniform(g, n, *cfg.blur_sigma) * blur_on
    x = gaussian_blur(x, sigma)
    noise_on = (torch.rand(n, generator=g) < cfg.p_noise).float().view(n, 1, 1, 1)
    std = _uniform(g, n, *cfg.noise_std).view(n, 1, 1, 1) * noise_on
    x = (x + torch.randn(x.shape, generator=g) * std).clamp(0.0, 1.0)
    return jpeg_artefacts(x, g, cfg.p_jpeg, cfg.jpeg_quality)
