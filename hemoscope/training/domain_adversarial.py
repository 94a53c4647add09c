"""Domain-adversarial training (Ganin et al., JMLR 2016): features that do not tell the
laboratories apart.

Beside the labelled training images (one laboratory, PBC), unlabelled white cells of other
laboratories (``--domains FOLDER``: one sub-folder per laboratory, e.g. TXL-PBC's BCCD,
BCDD and Raabin cells from ``pseudo_labels.write_domains``) go through the same network.
A small head guesses each cell's laboratory from its pooled embedding, and the network
learns, at the same time as the classes, an embedding from which the laboratory cannot
be guessed, in one of two ways (``--domain-loss``):

- ``reverse``: a gradient reversal layer between embedding and head (Ganin et al.): the
  network maximises the head's error. Unbounded: the network can win by making the
  head confidently wrong, and runs collapsed once the weight grew (PBC validation 98 to
  50 % in the second epoch at weight 0.3).
- ``confuse``: the head learns the laboratories on the embeddings as they are, while the
  network is pushed towards embeddings the head finds equally likely from every
  laboratory (cross-entropy to the uniform distribution, Tzeng et al., ICCV 2015). The
  network's side of the loss is bounded below by the uniform guess.

The weight rises from 0 to ``weight`` over training (the schedule of Ganin et al.), so
the classes are learnt first. The head is not part of the exported graph.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from hemoscope.vision.datasets import image_files, load_rgb


class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: float) -> torch.Tensor:
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.weight * grad, None


def reverse_gradient(x: torch.Tensor, weight: float) -> torch.Tensor:
    """``x`` forward; its gradient times ``-weight`` backward."""
    out: torch.Tensor = _Reverse.apply(x, weight)
    return out


class DomainHead(nn.Module):
    """Guesses the laboratory (0: the labelled one) from a pooled embedding."""

    def __init__(self, dim: int, domains: int, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, domains))

    def forward(self, embedding: torch.Tensor, weight: float) -> torch.Tensor:
        out: torch.Tensor = self.net(reverse_gradient(embedding, weight))
        return out


def reversal_weight(progress: float, weight: float) -> float:
    """The paper's schedule: 0 at the start, ``weight`` at the end (``progress`` 0..1)."""
    return weight * (2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0)


def load_domains(root: Path) -> tuple[list[str], list[np.ndarray], np.ndarray]:
    """The laboratories under ``root`` (one sub-folder each), their images, and each
    image's laboratory number (1, 2, ...; 0 is the labelled laboratory)."""
    names = sorted(p.name for p in root.iterdir() if p.is_dir())
    images: list[np.ndarray] = []
    labels: list[int] = []
    for k, name in enumerate(names, start=1):
        files = image_files(root / name)
        images += [load_rgb(f) for f in files]
        labels += [k] * len(files)
    if not images:
        raise SystemExit(f"no images under {root}'s sub-folders")
    return names, images, np.asarray(labels, np.int64)


def domain_loss(
    head: DomainHead,
    labelled: torch.Tensor,
    other: torch.Tensor,
    other_domains: torch.Tensor,
    weight: float,
) -> torch.Tensor:
    """Cross-entropy of the laboratory guesses: ``labelled`` embeddings are laboratory 0,
    ``other`` ones are ``other_domains``; both laboratories' sides weigh the same."""
    zero = torch.zeros(len(labelled), dtype=torch.long)
    return 0.5 * (
        F.cross_entropy(head(labelled, weight), zero)
        + F.cross_entropy(head(other, weight), other_domains)
    )


def confusion_loss(
    head: DomainHead,
    labelled: torch.Tensor,
    other: torch.Tensor,
    other_domains: torch.Tensor,
    weight: float,
) -> torch.Tensor:
    """The head's cross-entropy on the embeddings held fixed (it learns the laboratories),
    plus ``weight`` x the cross-entropy to the uniform guess of the head held fixed (the
    network learns to hide them); both laboratories' sides weigh the same."""
    learn = domain_loss(head, labelled.detach(), other.detach(), other_domains, 0.0)
    fixed = {k: v.detach() for k, v in head.named_parameters()}

    def uniform_ce(emb: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = functional_call(head, fixed, (emb, 0.0))
        return -F.log_softmax(logits, dim=1).mean()

    return learn + weight * 0.5 * (uniform_ce(labelled) + uniform_ce(other))
