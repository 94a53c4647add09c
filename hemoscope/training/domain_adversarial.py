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

Hiding the laboratory aligns the *mixtures* of classes, and the mixtures differ: PBC's
training crops hold every class in like numbers, another laboratory's ordinary smears
are mostly neutrophils and lymphocytes. Aligned as they are, part of a laboratory's
neutrophils must land where PBC's other classes lie (Zhao et al., ICML 2019). With
``--domain-prior usual`` each labelled crop weighs in the domain loss as its class's
share of a usual differential over its share of the training crops (`class_weights`),
so that the labelled side is the mixture the other laboratories' cells are likely to be
(importance-weighted alignment, Tachet des Combes et al., NeurIPS 2020, with the
make-up of a usual differential in place of their estimate).
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


USUAL_DIFFERENTIAL = {
    "neutrophil": 0.58, "lymphocyte": 0.30, "monocyte": 0.06, "eosinophil": 0.03,
    "ig": 0.01, "platelet": 0.01, "basophil": 0.005, "erythroblast": 0.005,
}  # fmt: skip
"""A usual adult differential's make-up (middles of the reference ranges; the immature
granulocytes and the platelet-like cells a differential meets, the erythroblasts
rare)."""


def class_weights(
    labels: np.ndarray, classes: tuple[str, ...], prior: dict[str, float]
) -> np.ndarray:
    """Per class: its share of ``prior`` over its share of ``labels``, scaled so that the
    labelled crops' mean weight is 1 (a class without crops weighs 0)."""
    counts = np.bincount(labels, minlength=len(classes)).astype(np.float64)
    share = counts / max(counts.sum(), 1.0)
    want = np.array([prior.get(c, 0.0) for c in classes], np.float64)
    w = np.divide(want, share, out=np.zeros_like(want), where=share > 0)
    mean = float((w * share).sum())
    return w / mean if mean > 0 else np.ones_like(w)


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
    labelled_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross-entropy of the laboratory guesses: ``labelled`` embeddings are laboratory 0
    (each weighing ``labelled_weights``, default alike), ``other`` ones are
    ``other_domains``; both laboratories' sides weigh the same."""
    zero = torch.zeros(len(labelled), dtype=torch.long)
    return 0.5 * (
        _mean(F.cross_entropy(head(labelled, weight), zero, reduction="none"), labelled_weights)
        + F.cross_entropy(head(other, weight), other_domains)
    )


def _mean(values: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """The mean of ``values`` (N,), each weighing ``weights`` (None: alike)."""
    if weights is None:
        return values.mean()
    return (values * weights).sum() / weights.sum().clamp_min(1e-12)


def confusion_loss(
    head: DomainHead,
    labelled: torch.Tensor,
    other: torch.Tensor,
    other_domains: torch.Tensor,
    weight: float,
    labelled_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """The head's cross-entropy on the embeddings held fixed (it learns the laboratories),
    plus ``weight`` x the cross-entropy to the uniform guess of the head held fixed (the
    network learns to hide them); both laboratories' sides weigh the same, the labelled
    embeddings each ``labelled_weights`` (default alike)."""
    learn = domain_loss(
        head, labelled.detach(), other.detach(), other_domains, 0.0, labelled_weights
    )
    fixed = {k: v.detach() for k, v in head.named_parameters()}

    def uniform_ce(emb: torch.Tensor, w: torch.Tensor | None = None) -> torch.Tensor:
        logits: torch.Tensor = functional_call(head, fixed, (emb, 0.0))
        return _mean(-F.log_softmax(logits, dim=1).mean(dim=1), w)

    return learn + weight * 0.5 * (uniform_ce(labelled, labelled_weights) + uniform_ce(other))
