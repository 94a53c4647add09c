"""Other laboratories' colours and contrast on the labelled crops, through the Fourier
amplitude spectrum (``--style P``).

The low frequencies of an image's amplitude spectrum carry what a camera, lamp and stain
change (overall colour, contrast, uneven illumination); the phase carries the cell's
shapes and edges (Yang & Soatto, FDA, CVPR 2020; Xu et al., FACT, CVPR 2021). A share
``P`` of each batch's labelled PBC crops has the low-frequency amplitude of each colour
channel mixed with that of a random crop of another laboratory's unlabelled cells (the
``--domains`` batch of the same step), by a random amount ``lam`` in [0, 1]; the phase and
the high frequencies stay the crop's own, so its class stays what its label says. The
network then learns PBC's classes in other laboratories' renderings, beside the
domain-adversarial loss that hides which laboratory a cell came from.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["STYLE_BETA", "amplitude_mix", "low_frequencies", "styled"]

STYLE_BETA = 0.08
"""Half-width of the low-frequency square whose amplitude is mixed, as a share of the
crop's side (FDA's beta; 0.08 of 128 px: frequencies up to 10 cycles a crop)."""


def low_frequencies(size: int, beta: float) -> torch.Tensor:
    """A (size, size) mask of the unshifted FFT's low frequencies (both signs) up to
    ``beta * size`` cycles in each direction."""
    b = max(1, round(beta * size))
    idx = torch.cat([torch.arange(0, b + 1), torch.arange(size - b, size)])
    mask = torch.zeros(size, size, dtype=torch.bool)
    mask[idx[:, None], idx[None, :]] = True
    return mask


def amplitude_mix(
    x: torch.Tensor, style: torch.Tensor, lam: torch.Tensor, beta: float = STYLE_BETA
) -> torch.Tensor:
    """``x`` (N, 3, S, S) in 0..1 with the low-frequency amplitude of each channel moved
    towards ``style``'s (same shape) by ``lam`` (N,) in 0..1; phase kept."""
    if x.shape != style.shape or x.ndim != 4 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"expected two batches (N, C, S, S) alike, got {x.shape} {style.shape}")
    fx = torch.fft.fft2(x.float())
    amp, phase = fx.abs(), fx.angle()
    amp_style = torch.fft.fft2(style.float()).abs()
    mask = low_frequencies(x.shape[-1], beta)
    w = lam.to(amp.dtype).view(-1, 1, 1, 1)
    mixed = torch.where(mask, (1 - w) * amp + w * amp_style, amp)
    out: torch.Tensor = torch.fft.ifft2(torch.polar(mixed, phase)).real
    return out.clamp_(0.0, 1.0)


def styled(
    x: torch.Tensor, sources: torch.Tensor, share: float, rng: np.random.Generator
) -> torch.Tensor:
    """``x`` with a share of its crops (each with probability ``share``) given the
    low-frequency amplitude of a random crop of ``sources``, by a random amount."""
    pick = np.flatnonzero(rng.random(len(x)) < share)
    if not len(pick) or not len(sources):
        return x
    src = rng.integers(0, len(sources), size=len(pick))
    lam = torch.from_numpy(rng.uniform(0.0, 1.0, size=len(pick)))
    out = x.clone()
    idx = torch.from_numpy(pick)
    out[idx] = amplitude_mix(x[idx], sources[torch.from_numpy(src)], lam).to(x.dtype)
    return out.contiguous(memory_format=torch.channels_last)
