"""Train the white-cell classifier on a single-cell ImageFolder tree (PBC layout)."""

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
from tqdm import tqdm

from hemoscope.training.augment import AUGMENTATIONS, PhotometricConfig, photometric
from hemoscope.training.classifier_model import INPUT_SIZE, CellClassifier, set_colour
from hemoscope.training.common import (
    TrainState,
    prefetch,
    seed_everything,
    set_threads,
)
from hemoscope.training.distil import Distiller
from hemoscope.training.domain_adversarial import (
    USUAL_DIFFERENTIAL,
    DomainHead,
    class_weights,
    confusion_loss,
    domain_loss,
    load_domains,
    reversal_weight,
)
from hemoscope.training.feature_style import StyleMixer, early_modules
from hemoscope.training.layers import Norm
from hemoscope.training.monitor import Monitor
from hemoscope.training.onnx_import import import_for
from hemoscope.training.pbc_data import Sample, list_samples, load_all, stratified_split
from hemoscope.training.style_mix import styled
from hemoscope.vision.classification_metrics import (
    classification_report,
    confusion_matrix,
)
from hemoscope.vision.crops import CROP_SCALE, PBC_CELL_FRACTION, cut_crop
from hemoscope.vision.single_cell import MAX_CELL_SHARE
from hemoscope.vision.stain import standardise_batch

log = logging.getLogger(__name__)

CLASSES = (
    "basophil",
    "eosinophil",
    "erythroblast",
    "ig",
    "lymphocyte",
    "monocyte",
    "neutrophil",
    "platelet",
)


@dataclass(frozen=True)
class ClassifierTrainConfig:
    data: str
    out: str
    epochs: int = 40
    batch: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.05
    label_smoothing: float = 0.05
    val_fraction: float = 0.15
    seed: int = 20261122
    split_seed: int | None = None  # the validation split's seed (None: ``seed``)
    stop_after: int = 0  # >0: train only the schedule's first N epochs
    threads: int = 0
    limit_per_class: int = 0  # >0: a few images per class, for smoke tests
    scale_jitter: tuple[float, float] = (0.7, 1.35)  # x CROP_SCALE, log-uniform
    offset_jitter: float = 0.12  # x nominal cell size
    tight_views: float = 0.0  # share of views from images cut tighter around the cell
    tight_range: tuple[float, float] = (0.4, 0.8)  # their side, x the image's shorter side
    init: str = ""  # weights (a run's best.pt) to start from instead of random ones
    norm: str = "batch"  # "batch" or "group" (layers.norm_layer)
    augment: str = "pbc"  # photometric strength: "pbc" or "wide" (augment.AUGMENTATIONS)
    standardise: bool = False  # crops rendered by vision.stain after augmentation
    monitor: tuple[str, ...] = ()  # NAME=FOLDER sets measured every epoch (never selected on)
    freeze_norm: bool = False  # BatchNorm statistics kept as they are (fine-tuning)
    colour: str = "rgb"  # "grey": the network sees the crop's luminance only
    domains: str = ""  # unlabelled cells of other laboratories, one sub-folder each
    domain_weight: float = 0.3  # the domain loss's final weight (domain_adversarial)
    domain_loss: str = "confuse"  # "confuse" or "reverse" (domain_adversarial)
    domain_prior: str = "none"  # "usual": PBC crops weigh as in a usual differential
    clip_norm: float = 0.0  # >0: gradients clipped to this norm (steadies adversarial runs)
    style: float = 0.0  # share of labelled crops given a --domains crop's colours (style_mix)
    mixstyle: float = 0.0  # probability per step of --domains feature statistics (feature_style)
    extra: tuple[str, ...] = ()  # FOLDER[:REPEAT] ImageFolder trees added to training only
    distil: str = ""  # a classifier ONNX file whose eight-view average the student learns
    distil_weight: float = 1.0  # weight of the distillation loss (distil)
    turns: int = 0  # quarter turns the card asks the run time for (0: export's RUN_TURNS)


def nominal_geometry(img: np.ndarray) -> tuple[float, float, float]:
    """Crop centre and side for a PBC image per the shared crop rule (cell centred)."""
    h, w = img.shape[:2]
    cell = PBC_CELL_FRACTION * min(h, w)
    return w / 2.0, h / 2.0, cell * CROP_SCALE


def make_batch(
    images: list[np.ndarray],
    labels: np.ndarray,
    idx: np.ndarray,
    rng: np.random.Generator,
    cfg: ClassifierTrainConfig,
    g: torch.Generator | None,
    pcfg: PhotometricConfig,
) -> tuple[torch.Tensor, torch.Tensor]:
    crops = np.empty((len(idx), INPUT_SIZE, INPUT_SIZE, 3), np.uint8)
    for j, i in enumerate(idx):
        img = images[i]
        cx, cy, side = nominal_geometry(img)
        if g is not None:  # training: jittered framing and orientation
            cell = side / CROP_SCALE
            lo, hi = cfg.scale_jitter
            side *= math.exp(rng.uniform(math.log(lo), math.log(hi)))
            cx += rng.uniform(-1, 1) * cfg.offset_jitter * cell
            cy += rng.uniform(-1, 1) * cfg.offset_jitter * cell
            if rng.random() < cfg.tight_views:
                img, cx, cy, side = tight_view(img, cx, cy, side, cell, rng, cfg.tight_range)
            crops[j] = cut_crop(
                img, cx, cy, side, INPUT_SIZE, rng.uniform(0, 360), rng.random() < 0.5
            )
        else:
            crops[j] = cut_crop(img, cx, cy, side, INPUT_SIZE)
    x = torch.from_numpy(crops).permute(0, 3, 1, 2).float().div_(255.0)
    if g is not None:
        x = photometric(x, g, pcfg)
    if cfg.standardise:
        x = standardised(x)
    return x.contiguous(memory_format=torch.channels_last), torch.from_numpy(labels[idx])


def standardised(x: torch.Tensor) -> torch.Tensor:
    """A float batch (N, 3, S, S) in 0..1 quantised to 8 bits as a camera gives it and
    rendered by the run-time colour standardisation (`hemoscope.vision.stain`)."""
    u8 = (x.permute(0, 2, 3, 1).clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).numpy()
    out, _ = standardise_batch(u8)
    return torch.from_numpy(out).permute(0, 3, 1, 2).float().div_(255.0)


def tight_view(
    img: np.ndarray,
    cx: float,
    cy: float,
    side: float,
    cell: float,
    rng: np.random.Generator,
    fraction: tuple[float, float],
) -> tuple[np.ndarray, float, float, float]:
    """The image as another laboratory might crop it, tighter around the cell, and the
    crop framed in it as run time frames such an image (`frame_single_cell`): no larger
    than the cut image unless the cell would then fill more than `MAX_CELL_SHARE` of it,
    the cut image's edge repeated past it."""
    h, w = img.shape[:2]
    cut = round(min(h, w) * rng.uniform(*fraction))
    x0 = int(np.clip(round(w / 2 - cut / 2 + rng.uniform(-0.1, 0.1) * cut), 0, w - cut))
    y0 = int(np.clip(round(h / 2 - cut / 2 + rng.uniform(-0.1, 0.1) * cut), 0, h - cut))
    side = min(side, max(float(cut), cell / MAX_CELL_SHARE))
    return img[y0 : y0 + cut, x0 : x0 + cut], cx - x0, cy - y0, side


@torch.no_grad()
def predict_logits(
    model: torch.nn.Module, images: list[np.ndarray], labels: np.ndarray, cfg: ClassifierTrainConfig
) -> np.ndarray:
    model.eval()
    out = []
    order = np.arange(len(images))
    for s in range(0, len(order), 128):
        x, _ = make_batch(
            images,
            labels,
            order[s : s + 128],
            np.random.default_rng(0),
            cfg,
            None,
            PhotometricConfig(),
        )
        out.append(model(x).numpy())
    return np.concatenate(out) if out else np.zeros((0, len(CLASSES)))


def train(cfg: ClassifierTrainConfig) -> dict[str, Any]:
    if cfg.stop_after < 0:
        raise SystemExit(f"--stop-after takes 0 (the whole schedule) or more, got {cfg.stop_after}")
    set_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    g = seed_everything(cfg.seed)
    split_seed = cfg.seed if cfg.split_seed is None else cfg.split_seed
    train_s, val_s = split_samples(cfg.data, cfg.val_fraction, split_seed, cfg.limit_per_class)
    _write_split(out / "split.json", cfg, train_s, val_s)
    train_s = train_s + extra_samples(cfg.extra)
    train_img, val_img = load_all(train_s), load_all(val_s)
    y_train = np.array([s.label for s in train_s], np.int64)
    y_val = np.array([s.label for s in val_s], np.int64)

    model = CellClassifier(len(CLASSES), norm=_norm(cfg.norm))
    monitor = Monitor.load(cfg.monitor, CLASSES, cfg.standardise)
    if cfg.init.endswith(".onnx"):  # a shipped model, its BatchNorms folded
        model = import_for("--init", Path(cfg.init), CLASSES)
        log.info("starting from the shipped weights in %s", cfg.init)
    elif cfg.init:  # fine-tuning: start from earlier weights (a checkpoint resumes over them)
        model.load_state_dict(torch.load(cfg.init, map_location="cpu", weights_only=False)["model"])
        log.info("starting from the weights in %s", cfg.init)
    model = set_colour(model, cfg.colour).to(memory_format=torch.channels_last)
    steps_per_epoch = max(1, len(train_s) // cfg.batch)
    state = TrainState(
        model, g, lr=cfg.lr, weight_decay=cfg.weight_decay,
        steps_per_epoch=steps_per_epoch, epochs=cfg.epochs, warmup_epochs=2,
    )  # fmt: skip
    pcfg = AUGMENTATIONS[cfg.augment]
    if cfg.style and not cfg.domains:
        raise SystemExit("--style takes its colours from the --domains cells: give --domains")
    if cfg.mixstyle and not cfg.domains:
        raise SystemExit("--mixstyle takes its statistics from the --domains cells: give --domains")
    if cfg.domain_prior != "none" and (not cfg.domains or cfg.distil):
        raise SystemExit("--domain-prior weighs the domain loss: give --domains, no --distil")
    if cfg.distil and (cfg.style or cfg.mixstyle):
        raise SystemExit("--distil takes --domains as unlabelled cells: no --style, --mixstyle")
    others = OtherCells.load(Path(cfg.domains)) if cfg.domains else None
    distiller = Distiller.start(cfg, CLASSES) if cfg.distil else None
    adversary = None
    if others and not distiller:
        weights = domain_class_weights(cfg.domain_prior, y_train)
        adversary = Adversary.start(
            cfg.domain_weight, cfg.domain_loss, model, out, others.names, weights
        )
    state.resume(out / "last.ckpt", adversary)  # after every initial weight is drawn
    mixer = StyleMixer(early_modules(model), cfg.mixstyle, cfg.seed) if cfg.mixstyle else None
    last_epoch = min(cfg.epochs, cfg.stop_after or cfg.epochs)
    for epoch in range(state.epoch, last_epoch):
        model.train()
        if cfg.freeze_norm or cfg.init.endswith(".onnx"):
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.eval()
        rng = np.random.default_rng([cfg.seed, epoch])
        perm = rng.permutation(len(train_s))
        t0 = time.time()

        def batch_at(
            b: int, perm: np.ndarray = perm, rng: np.random.Generator = rng
        ) -> tuple[torch.Tensor, torch.Tensor]:
            idx = perm[b * cfg.batch : (b + 1) * cfg.batch]
            x, y = make_batch(train_img, y_train, idx, rng, cfg, g, pcfg)
            if others is None:
                return x, y
            xd, yd = others.batch(rng, cfg, g, pcfg)
            if cfg.style > 0:
                x = styled(x, xd, cfg.style, rng)
            return torch.cat([x, xd]), torch.cat([y, yd])

        batches = prefetch(batch_at, steps_per_epoch)
        loss_sum, seen = 0.0, 0
        bar = tqdm(
            batches, total=steps_per_epoch, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False
        )
        for step, (x, y) in enumerate(bar):
            if distiller is not None:
                loss = distiller.loss(model, x, y, cfg.label_smoothing)
            elif adversary is None:
                loss = F.cross_entropy(model(x), y, label_smoothing=cfg.label_smoothing)
            else:
                progress = (epoch * steps_per_epoch + step) / (cfg.epochs * steps_per_epoch)
                if mixer is not None:  # the labelled rows come first (batch_at)
                    mixer.new_step(int((y >= 0).sum()))
                loss = adversary.loss(model, x, y, progress, cfg.label_smoothing)
            state.step(loss, clip_norm=cfg.clip_norm or None)
            if adversary is not None:
                adversary.step()
            loss_sum += float(loss.detach()) * len(y)
            seen += len(y)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}")
        logits = predict_logits(state.ema.model, val_img, y_val, cfg)
        rep = classification_report(confusion_matrix(y_val, logits.argmax(1), len(CLASSES)))
        rec = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / max(seen, 1),
            "val_accuracy": rep.accuracy,
            "val_macro_f1": rep.macro_f1,
            "lr": state.sched.get_last_lr()[0],
            "seconds": time.time() - t0,
            **monitor.measure(state.ema.model),
            **(adversary.summary() if adversary is not None else {}),
            **(distiller.summary() if distiller is not None else {}),
        }
        state.record(rec, out)
        tqdm.write(
            f"epoch {epoch + 1}: loss {rec['train_loss']:.4f} val acc {rep.accuracy:.4f} "
            f"macro-F1 {rep.macro_f1:.4f} ({rec['seconds']:.0f} s)"
            + "".join(f" {k} {v:.4f}" for k, v in rec.items() if k.startswith("monitor"))
        )
        if rep.macro_f1 > state.best:
            state.best = rep.macro_f1
            torch.save(
                {
                    "model": state.ema.model.state_dict(),
                    "epoch": epoch + 1,
                    "classes": CLASSES,
                    "norm": cfg.norm,
                    "colour": cfg.colour,
                },
                out / "best.pt",
            )
        if adversary is not None:
            adversary.save()
        state.epoch = epoch + 1
        state.save(out / "last.ckpt", asdict(cfg), adversary)
    return {"best_macro_f1": state.best, "history": state.history}


class OtherCells:
    """The unlabelled white cells of other laboratories (``--domains``, one sub-folder
    each), drawn for every step beside the labelled crops: by the domain-adversarial loss
    (`Adversary`) or the teacher of `distil`."""

    def __init__(self, names: list[str], images: list[np.ndarray], domains: np.ndarray) -> None:
        self.names, self.images, self.domains = names, images, domains
        self.members = [np.flatnonzero(domains == k) for k in np.unique(domains)]

    @classmethod
    def load(cls, root: Path) -> OtherCells:
        names, images, domains = load_domains(root)
        log.info("%d unlabelled cells of %s", len(images), ", ".join(names))
        return cls(names, images, domains)

    def batch(
        self, rng: np.random.Generator, cfg: ClassifierTrainConfig, g: torch.Generator,
        pcfg: PhotometricConfig,
    ) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """``cfg.batch`` cells, each laboratory as likely, augmented as the labelled ones;
        their labels are -1 - laboratory (told apart from classes)."""
        x, d = make_batch(self.images, self.domains, self.pick(rng, cfg.batch), rng, cfg, g, pcfg)
        return x, -1 - d

    def pick(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Indices of ``n`` cells drawn with each laboratory as likely."""
        labs = rng.integers(0, len(self.members), size=n)
        return np.array([rng.choice(self.members[k]) for k in labs], np.int64)

    def counts(self) -> dict[str, int]:
        """Cells per laboratory."""
        return {n: len(m) for n, m in zip(self.names, self.members, strict=True)}


class Adversary:
    """The domain head of ``--domains`` (`domain_adversarial`), its optimiser, and running
    figures of how well it tells the laboratories apart."""

    def __init__(
        self, weight: float, objective: str, head: DomainHead, path: Path,
        class_weights: np.ndarray | None = None,
    ) -> None:  # fmt: skip
        self.head, self.path = head, path
        self.weight = weight
        self.class_weights = (
            None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)
        )
        if objective not in ("confuse", "reverse"):
            raise SystemExit(f"unknown domain loss '{objective}' (confuse or reverse)")
        self.objective = confusion_loss if objective == "confuse" else domain_loss
        self.opt = torch.optim.AdamW(head.parameters(), lr=1e-3, weight_decay=1e-4)
        self.right, self.seen, self.loss_sum = 0, 0, 0.0

    @classmethod
    def start(
        cls, weight: float, objective: str, model: CellClassifier, out: Path, names: list[str],
        class_weights: np.ndarray | None = None,
    ) -> Adversary:  # fmt: skip
        log.info("domain-adversarial (%s, %g) against %s", objective, weight, ", ".join(names))
        head = DomainHead(model.embedding_dim, len(names) + 1)
        return cls(weight, objective, head, out / "domain_head.pt", class_weights)

    def resume(self, saved: dict[str, Any]) -> None:
        """The head and its optimiser as the checkpoint's epoch left them (``saved``: the
        checkpoint's `companion` entry). A checkpoint of before they were kept in it resumes
        the head alone from its own file."""
        if "domain_head" in saved:
            self.head.load_state_dict(saved["domain_head"])
            self.opt.load_state_dict(saved["domain_optimiser"])
        elif self.path.exists():
            self.head.load_state_dict(torch.load(self.path, map_location="cpu", weights_only=True))

    def state(self) -> dict[str, Any]:
        """What `resume` takes back, for the run's checkpoint."""
        return {"domain_head": self.head.state_dict(), "domain_optimiser": self.opt.state_dict()}

    def loss(
        self, model: CellClassifier, x: torch.Tensor, y: torch.Tensor, progress: float,
        smoothing: float,
    ) -> torch.Tensor:  # fmt: skip
        lab = y >= 0
        emb = model.pooled(x)
        ce = F.cross_entropy(model.classify(emb[lab]), y[lab], label_smoothing=smoothing)
        weights = None if self.class_weights is None else self.class_weights[y[lab]]
        return ce + self.embedding_loss(emb[lab], emb[~lab], -1 - y[~lab], progress, weights)

    def embedding_loss(
        self, labelled: torch.Tensor, other: torch.Tensor, other_domains: torch.Tensor,
        progress: float, labelled_weights: torch.Tensor | None = None,
    ) -> torch.Tensor:  # fmt: skip
        """The domain loss of pooled embeddings: ``labelled`` ones are laboratory 0 (each
        weighing ``labelled_weights``, default alike), ``other`` ones are
        ``other_domains`` (1, 2, ...); its weight at ``progress`` (0..1) of the run."""
        w = reversal_weight(progress, self.weight)
        dl = self.objective(self.head, labelled, other, other_domains, w, labelled_weights)
        with torch.no_grad():
            guess = self.head(torch.cat([labelled, other]), 0.0).argmax(1)
            truth = torch.cat([torch.zeros(len(labelled), dtype=torch.long), other_domains])
            self.right += int((guess == truth).sum())
            self.seen += len(truth)
            self.loss_sum += float(dl) * len(truth)
        return dl

    def step(self) -> None:
        """The head's step, after the network's (the same backward pass filled both)."""
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)

    def summary(self) -> dict[str, float]:
        out = {
            "domain_accuracy": self.right / max(1, self.seen),
            "domain_loss": self.loss_sum / max(1, self.seen),
        }
        self.right, self.seen, self.loss_sum = 0, 0, 0.0
        return out

    def save(self) -> None:
        """The head alone, in its own file (the checkpoint holds it for resuming)."""
        torch.save(self.head.state_dict(), self.path)


def domain_class_weights(prior: str, labels: np.ndarray) -> np.ndarray | None:
    """The labelled crops' weights per class in the domain loss (``--domain-prior``):
    none, or a usual differential's make-up over the training crops'."""
    if prior == "none":
        return None
    if prior != "usual":
        raise SystemExit(f"unknown domain prior '{prior}' (none or usual)")
    w = class_weights(labels, CLASSES, USUAL_DIFFERENTIAL)
    log.info(
        "domain loss: PBC crops weighted as a usual differential (%s)",
        ", ".join(f"{c} {x:.2f}" for c, x in zip(CLASSES, w, strict=True)),
    )
    return w


def extra_samples(specs: tuple[str, ...]) -> list[Sample]:
    """The training images of ``--extra FOLDER[:REPEAT]``: each folder's class folders
    mapped as the main tree's, every image listed REPEAT times."""
    out: list[Sample] = []
    for spec in specs:
        folder, _, repeat = spec.rpartition(":")
        if not repeat.isdigit():  # no REPEAT (or a drive letter's colon)
            folder, repeat = spec, "1"
        n = int(repeat)
        samples, unknown = list_samples(Path(folder), CLASSES)
        if unknown:
            log.warning("%s: folders matching no class, not used: %s", folder, ", ".join(unknown))
        if not samples:
            raise SystemExit(f"no images of the classes {', '.join(CLASSES)} under {folder}")
        log.info("%d extra training images from %s, each %d times", len(samples), folder, n)
        out += samples * max(1, n)
    return out


def _norm(name: str) -> Norm:
    if name not in ("batch", "group"):
        raise SystemExit(f"unknown normalisation '{name}' (batch or group)")
    return "group" if name == "group" else "batch"


def split_samples(
    data: str, val_fraction: float, split_seed: int, limit_per_class: int = 0
) -> tuple[list[Sample], list[Sample]]:
    """The training and validation samples of a PBC-layout tree (the fixed, seeded,
    stratified split every classifier run uses); with ``limit_per_class``, a few of each
    class (smoke tests)."""
    samples, unknown = list_samples(Path(data), CLASSES)
    if unknown:
        log.warning("folders matching no class, not used: %s", ", ".join(unknown))
    if not samples:
        raise SystemExit(f"no images of the classes {', '.join(CLASSES)} under {data}")
    train_s, val_s = stratified_split(samples, val_fraction, split_seed)
    if limit_per_class:
        train_s = _limit(train_s, limit_per_class)
        val_s = _limit(val_s, max(1, limit_per_class // 4))
    return train_s, val_s


def _limit(samples: list[Sample], n: int) -> list[Sample]:
    out: list[Sample] = []
    for label in sorted({s.label for s in samples}):
        out += [s for s in samples if s.label == label][:n]
    return out


def _write_split(
    path: Path, cfg: ClassifierTrainConfig, train_s: list[Sample], val_s: list[Sample]
) -> None:
    def names(ss: list[Sample]) -> list[str]:
        return sorted(f"{s.path.parent.name}/{s.path.name}" for s in ss)

    path.write_text(
        json.dumps(
            {
                "seed": cfg.seed if cfg.split_seed is None else cfg.split_seed,
                "val_fraction": cfg.val_fraction,
                "train": names(train_s),
                "val": names(val_s),
            },
            indent=0,
        ),
        encoding="utf-8",
    )
