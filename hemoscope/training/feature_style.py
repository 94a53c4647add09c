"""Other laboratories' feature statistics on the labelled crops, inside the network
(``--mixstyle P``).

The per-channel mean and spread of an early feature map over its positions carry a
crop's "style" (stain, camera, lamp), its normalised map the cell (Huang & Belongie,
AdaIN, ICCV 2017). MixStyle (Zhou et al., ICLR 2021) mixes the styles of training
samples at the early stages so that the network learns its classes under styles it was
not shown. Here the styles come from other laboratories: with probability ``P`` per step,
after the stem and after each of the first two stages, each labelled PBC crop's map
keeps its normalised content and takes a random mix, ``lam`` ~ Beta(0.1, 0.1), of its
own statistics and those of a random unlabelled cell of another laboratory (the
``--domains`` half of the same batch). The statistics are not differentiated through
(as in the paper). The hooks act in training mode only: the exported graph and every
evaluation are the plain network.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["ALPHA", "StyleMixer", "mix_statistics"]

ALPHA = 0.1
"""Beta(ALPHA, ALPHA): most mixes lie near one of the two styles (the paper's value)."""
EPS = 1e-6


def mix_statistics(
    x: torch.Tensor, labelled: int, generator: torch.Generator, alpha: float = ALPHA
) -> torch.Tensor:
    """``x`` (N, C, H, W) with each of its first ``labelled`` rows given a mix of its own
    per-channel statistics and those of a random row after them."""
    n = x.shape[0]
    if labelled <= 0 or labelled >= n:
        return x
    head = x[:labelled]
    mu = head.mean(dim=(2, 3), keepdim=True)
    sig = (head.var(dim=(2, 3), keepdim=True) + EPS).sqrt()
    mu, sig = mu.detach(), sig.detach()
    content = (head - mu) / sig
    donors = labelled + torch.randint(0, n - labelled, (labelled,), generator=generator)
    tail = x[donors].detach()
    mu_d = tail.mean(dim=(2, 3), keepdim=True)
    sig_d = (tail.var(dim=(2, 3), keepdim=True) + EPS).sqrt()
    beta = torch.distributions.Beta(torch.tensor(alpha), torch.tensor(alpha))
    lam = beta.sample((labelled, 1, 1, 1))
    mixed = content * (lam * sig + (1 - lam) * sig_d) + lam * mu + (1 - lam) * mu_d
    return torch.cat([mixed, x[labelled:]])


class StyleMixer:
    """Forward hooks on ``modules`` that mix the labelled rows' statistics (set
    `labelled` before each forward pass) in training mode, with probability ``p`` per
    step (`new_step`)."""

    def __init__(self, modules: list[nn.Module], p: float, seed: int) -> None:
        if not 0 < p <= 1:
            raise SystemExit(f"--mixstyle takes a probability in (0, 1], got {p}")
        self.p = p
        self.labelled = 0
        self.active = False
        self.generator = torch.Generator().manual_seed(seed)
        self.handles = [m.register_forward_hook(self._hook) for m in modules]

    def new_step(self, labelled: int) -> None:
        """The next forward pass has ``labelled`` labelled rows first; mix it or not."""
        self.labelled = labelled
        self.active = bool(torch.rand((), generator=self.generator) < self.p)

    def _hook(self, module: nn.Module, _inputs: Any, output: torch.Tensor) -> torch.Tensor | None:
        if not (module.training and self.active):
            return None
        return mix_statistics(output, self.labelled, self.generator)

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def early_modules(model: Any) -> list[nn.Module]:
    """Where styles are mixed: after the stem and the first two stages."""
    return [model.stem, model.stages[0], model.stages[1]]
