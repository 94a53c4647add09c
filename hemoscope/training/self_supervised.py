"""Self-supervised pre-training of the classifier's network (SimCLR, Chen et al. 2020).

No pretrained weights can be downloaded for the classifier, and the labelled cells come
from one laboratory (PBC). Contrastive pre-training learns from cells without their
classes: two views of each cell, each cut, turned, scaled and coloured at random (other
laboratories' stains, white balance, blur and resolution: `augment.WIDE`, with a fifth of
the views in grey), are drawn together in the embedding and apart from every other cell's
views (the NT-Xent loss). What survives those changes is what a cell *is*, not the
microscope it was seen through, so the other laboratories' unlabelled cells (``--domains``,
one sub-folder each, as for domain-adversarial training) are drawn for half of every batch
beside PBC's training crops. Instance discrimination tells laboratories apart as readily
as classes; with ``--domain-weight`` the classifier's domain head (`Adversary`) also
trains the embedding to hide each cell's laboratory.

The network is the classifier's (`CellClassifier`), with a projection head on its
embedding that is discarded after training. ``pretrained.pt`` holds the network's weights
in the layout ``train classifier --init`` reads (its linear head untrained), so the
supervised run starts from them:

    python -m hemoscope.training pretrain --data PBC --domains D --out RUN --epochs 20
    python -m hemoscope.training classifier --data PBC --init RUN/pretrained.pt ...

Pre-training runs at a lower resolution than the classifier (``--size``, 96 px: 1.8
times fewer pixels); the network pools globally, so its weights serve any input size.
Only PBC's training split is used (the validation split by the same seed as the
classifier's is left out), and each epoch prints a label-using measure of the embedding
for information only, never for selection: the nearest-neighbour accuracy of PBC
validation crops among training crops (`knn_accuracy`).
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from hemoscope.training.augment import WIDE, PhotometricConfig, photometric
from hemoscope.training.classifier_model import INPUT_SIZE, CellClassifier
from hemoscope.training.common import (
    TrainState,
    prefetch,
    seed_everything,
    set_threads,
)
from hemoscope.training.pbc_data import load_all
from hemoscope.training.train_classifier import (
    CLASSES,
    Adversary,
    OtherCells,
    nominal_geometry,
    split_samples,
)
from hemoscope.vision.crops import CROP_SCALE, cut_crop

log = logging.getLogger(__name__)

VIEW_COLOURS = PhotometricConfig(**{**asdict(WIDE), "p_gray": 0.2})
"""Each view's colours: other laboratories' stains and optics (`augment.WIDE`), and a
fifth of the views in grey, so that no colour alone tells two cells apart."""


@dataclass(frozen=True)
class PretrainConfig:
    data: str  # PBC's ImageFolder tree (its training split is used, without classes)
    out: str
    domains: str = ""  # other laboratories' unlabelled cells, one sub-folder each
    epochs: int = 20
    batch: int = 128  # cells per step (two views each); half from --domains when given
    lr: float = 2e-3
    weight_decay: float = 1e-4
    temperature: float = 0.2  # of the NT-Xent loss
    size: int = 96  # the views' side in pixels
    scale: tuple[float, float] = (0.6, 1.5)  # crop side x CROP_SCALE, log-uniform
    offset: float = 0.25  # centre jitter, x the nominal cell size
    projection: int = 128  # width of the projection head's output
    val_fraction: float = 0.15  # the classifier's validation split, left out
    seed: int = 20261122
    split_seed: int | None = None  # the validation split's seed (None: ``seed``)
    threads: int = 0
    limit_per_class: int = 0  # >0: a few images per class (smoke tests)
    knn_cells: int = 1200  # training crops the nearest-neighbour measure looks among
    domain_weight: float = 0.0  # >0: embeddings that hide the laboratory (domain_adversarial)
    domain_loss: str = "reverse"  # "reverse" or "confuse" (domain_adversarial)


class Contrastive(nn.Module):
    """The classifier's network and a projection head (two layers) on its embedding."""

    def __init__(self, backbone: CellClassifier, out: int) -> None:
        super().__init__()
        self.backbone = backbone
        d = backbone.embedding_dim
        self.projector = nn.Sequential(
            nn.Linear(d, 2 * d), nn.BatchNorm1d(2 * d), nn.ReLU(inplace=True), nn.Linear(2 * d, out)
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The projection (for the contrastive loss) and the embedding it was made from."""
        emb = self.backbone.pooled(x)
        return self.projector(emb), emb


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """The normalised temperature-scaled cross entropy of two views' projections (N, P):
    each view must pick its partner among the other 2N - 1 views."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = len(z1)
    sim = z @ z.T / temperature
    sim.fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, target)


def cut_views(
    images: list[np.ndarray], rng: np.random.Generator, cfg: PretrainConfig
) -> np.ndarray:
    """One random framing of each image (N, size, size, 3) uint8: the crop rule's centre
    and side jittered, turned by any angle, mirrored half the time."""
    out = np.empty((len(images), cfg.size, cfg.size, 3), np.uint8)
    lo, hi = (math.log(s) for s in cfg.scale)
    for j, img in enumerate(images):
        cx, cy, side = nominal_geometry(img)
        cell = side / CROP_SCALE
        side *= math.exp(rng.uniform(lo, hi))
        cx += rng.uniform(-1, 1) * cfg.offset * cell
        cy += rng.uniform(-1, 1) * cfg.offset * cell
        out[j] = cut_crop(img, cx, cy, side, cfg.size, rng.uniform(0, 360), rng.random() < 0.5)
    return out


def to_tensor(crops: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(crops).permute(0, 3, 1, 2).float().div_(255.0)


def two_views(
    images: list[np.ndarray], rng: np.random.Generator, g: torch.Generator, cfg: PretrainConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two independently framed and coloured views of each image."""
    views = []
    for _ in range(2):
        x = photometric(to_tensor(cut_views(images, rng, cfg)), g, VIEW_COLOURS)
        views.append(x.contiguous(memory_format=torch.channels_last))
    return views[0], views[1]


@torch.no_grad()
def embed(model: CellClassifier, images: list[np.ndarray], size: int) -> torch.Tensor:
    """Unit-length embeddings of the images' crops as the crop rule frames them."""
    model.eval()
    out = []
    for s in range(0, len(images), 128):
        crops = [cut_crop(img, *nominal_geometry(img), size) for img in images[s : s + 128]]
        out.append(F.normalize(model.pooled(to_tensor(np.stack(crops))), dim=1))
    return torch.cat(out) if out else torch.zeros((0, model.embedding_dim))


def knn_accuracy(
    model: CellClassifier,
    bank: tuple[list[np.ndarray], np.ndarray],
    query: tuple[list[np.ndarray], np.ndarray],
    size: int,
    k: int = 10,
) -> float:
    """Share of ``query`` crops whose ``k`` most similar ``bank`` crops (cosine of the
    embeddings) vote their class: how much of the classes the embedding holds, for
    information (never a basis for choosing)."""
    (bank_img, bank_y), (q_img, q_y) = bank, query
    if not len(bank_img) or not len(q_img):
        return float("nan")
    sim = embed(model, q_img, size) @ embed(model, bank_img, size).T
    near = sim.topk(min(k, len(bank_img)), dim=1).indices.numpy()
    votes = np.zeros((len(q_img), len(CLASSES)))
    np.add.at(votes, (np.arange(len(q_img))[:, None], bank_y[near]), 1.0)
    return float((votes.argmax(axis=1) == q_y).mean())


class Cells:
    """PBC's training crops and the other laboratories' cells, drawn for every step."""

    def __init__(self, cfg: PretrainConfig) -> None:
        split_seed = cfg.seed if cfg.split_seed is None else cfg.split_seed
        train_s, val_s = split_samples(cfg.data, cfg.val_fraction, split_seed, cfg.limit_per_class)
        self.pbc = load_all(train_s)
        self.pbc_y = np.array([s.label for s in train_s], np.int64)
        self.val = load_all(val_s)
        self.val_y = np.array([s.label for s in val_s], np.int64)
        self.others = OtherCells.load(Path(cfg.domains)) if cfg.domains else None
        self.split = {"seed": split_seed, "train": len(train_s), "val": len(val_s)}

    def steps(self, batch: int) -> int:
        return max(1, len(self.pbc) // (batch // 2 if self.others is not None else batch))

    def batch(
        self, rng: np.random.Generator, order: np.ndarray, step: int, cfg: PretrainConfig
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """The images of one step and their laboratories (0: PBC): PBC's next crops in
        ``order`` and, with --domains, as many other laboratories' cells, each laboratory
        as likely."""
        n = cfg.batch // 2 if self.others is not None else cfg.batch
        images = [self.pbc[i] for i in order[step * n : (step + 1) * n]]
        labs = np.zeros(len(images), np.int64)
        if self.others is not None:
            picked = self.others.pick(rng, n)
            images += [self.others.images[i] for i in picked]
            labs = np.concatenate([labs, self.others.domains[picked]])
        return images, labs

    def knn_bank(self, rng: np.random.Generator, n: int) -> tuple[list[np.ndarray], np.ndarray]:
        take = np.sort(rng.choice(len(self.pbc), min(n, len(self.pbc)), replace=False))
        return [self.pbc[i] for i in take], self.pbc_y[take]


def pretrain(cfg: PretrainConfig) -> dict[str, Any]:
    """Train; checkpoint every epoch (``last.ckpt``, resumed when present) and write the
    network's weights to ``pretrained.pt`` after each."""
    if cfg.batch < 4 or cfg.batch % 2:
        raise SystemExit(f"--batch must be an even number of at least 4, got {cfg.batch}")
    if cfg.domain_weight and not cfg.domains:
        raise SystemExit("--domain-weight hides the --domains cells' laboratories: give --domains")
    set_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    g = seed_everything(cfg.seed)
    cells = Cells(cfg)
    log.info("pre-training on %d PBC training crops", len(cells.pbc))
    model = Contrastive(CellClassifier(len(CLASSES)), cfg.projection)
    model = model.to(memory_format=torch.channels_last)
    steps = cells.steps(cfg.batch)
    state = TrainState(
        model, g, lr=cfg.lr, weight_decay=cfg.weight_decay,
        steps_per_epoch=steps, epochs=cfg.epochs, warmup_epochs=1,
    )  # fmt: skip
    adversary = (
        Adversary.start(cfg.domain_weight, cfg.domain_loss, model.backbone, out, cells.others.names)
        if cfg.domain_weight and cells.others is not None
        else None
    )
    state.resume(out / "last.ckpt", adversary)  # after the domain head's initial weights
    bank = cells.knn_bank(np.random.default_rng(cfg.seed), cfg.knn_cells)
    for epoch in range(state.epoch, cfg.epochs):
        model.train()
        rng = np.random.default_rng([cfg.seed, epoch])
        order = rng.permutation(len(cells.pbc))
        t0 = time.time()

        def views_at(
            step: int, order: np.ndarray = order, rng: np.random.Generator = rng
        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            images, labs = cells.batch(rng, order, step, cfg)
            return (*two_views(images, rng, g, cfg), torch.from_numpy(labs))

        loss_sum = 0.0
        bar = tqdm(prefetch(views_at, steps), total=steps, desc=f"epoch {epoch + 1}", leave=False)
        for step, (x1, x2, labs) in enumerate(bar):
            (z1, e1), (z2, e2) = model(x1), model(x2)
            contrastive = nt_xent(z1, z2, cfg.temperature)
            loss = contrastive
            if adversary is not None:  # its own figures: domain_accuracy, domain_loss
                emb, labs2 = torch.cat([e1, e2]), torch.cat([labs, labs])
                pbc = labs2 == 0
                progress = (epoch * steps + step) / (cfg.epochs * steps)
                loss = loss + adversary.embedding_loss(emb[pbc], emb[~pbc], labs2[~pbc], progress)
            state.step(loss)
            if adversary is not None:
                adversary.step()
            loss_sum += float(contrastive.detach())
            bar.set_postfix(loss=f"{loss_sum / (step + 1):.3f}")
        knn = knn_accuracy(model.backbone, bank, (cells.val, cells.val_y), cfg.size)
        rec = {
            "epoch": epoch + 1,
            "loss": loss_sum / steps,
            "knn_accuracy_pbc_val": knn,
            "lr": state.sched.get_last_lr()[0],
            "seconds": time.time() - t0,
            **(adversary.summary() if adversary is not None else {}),
        }
        state.record(rec, out)
        tqdm.write(
            f"epoch {epoch + 1}: loss {rec['loss']:.4f} kNN accuracy (PBC val, information "
            f"only) {knn:.4f} ({rec['seconds']:.0f} s)"
        )
        if adversary is not None:
            adversary.save()
        state.epoch = epoch + 1
        state.save(out / "last.ckpt", asdict(cfg), adversary)
        save_backbone(model.backbone, out / "pretrained.pt", cfg, epoch + 1, cells)
    return {"history": state.history}


def save_backbone(
    backbone: CellClassifier, path: Path, cfg: PretrainConfig, epoch: int, cells: Cells
) -> None:
    """The network's weights as ``train classifier --init`` reads them, and a note of
    how they were made beside them (``pretrained.json``)."""
    tmp = path.with_suffix(".tmp")
    torch.save({"model": backbone.state_dict(), "epoch": epoch, "classes": CLASSES}, tmp)
    tmp.replace(path)
    note = {
        "method": "SimCLR (NT-Xent) on unlabelled cells; projection head discarded",
        "epoch": epoch,
        "config": asdict(cfg),
        "pbc_split": cells.split,
        "domains": cells.others.counts() if cells.others is not None else {},
        "input_size_pretrained": cfg.size,
        "input_size_classifier": INPUT_SIZE,
    }
    path.with_suffix(".json").write_text(json.dumps(note, indent=1), encoding="utf-8")
