"""Train the cell detector on a YOLO-layout folder (WBC, RBC, platelets)."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from hemoscope.training.augment import PhotometricConfig, photometric
from hemoscope.training.common import (
    TrainState,
    prefetch,
    seed_everything,
    set_threads,
)
from hemoscope.training.detector_model import INPUT_LONG_SIDE, STRIDE, CellDetector, DetectorExport
from hemoscope.training.yolo_data import FieldSample, load_split, make_targets, random_view
from hemoscope.vision.detection_metrics import (
    AP_SCORE_FLOOR,
    DetectionReport,
    ImageResult,
    evaluate,
)
from hemoscope.vision.detector_decode import postprocess
from hemoscope.vision.letterbox import letterbox

log = logging.getLogger(__name__)

CLASSES = ("wbc", "rbc", "platelet")


@dataclass(frozen=True)
class DetectorTrainConfig:
    data: str
    out: str
    epochs: int = 140
    batch: int = 16
    canvas: int = 256
    lr: float = 2e-3
    weight_decay: float = 0.05
    scale_range: tuple[float, float] = (0.6, 1.6)
    seed: int = 20261122
    threads: int = 0
    limit: int = 0  # >0: only the first N images of each split (smoke tests)
    count_threshold: float = 0.3
    nms_iou: float = 0.5
    min_visible: float = 0.25  # share of a box inside a training view for it to be kept
    init: str = ""  # weights (a run's best.pt) to start from instead of random ones


def focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss, normalised by the number of objects."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1).float()
    neg = 1 - pos
    pos_loss = torch.log(p) * (1 - p) ** 2 * pos
    neg_loss = torch.log(1 - p) * p**2 * (1 - target) ** 4 * neg
    n = pos.sum().clamp_min(1.0)
    return -(pos_loss.sum() + neg_loss.sum()) / n


def detector_loss(
    out: tuple[torch.Tensor, torch.Tensor, torch.Tensor], t: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, dict[str, float]]:
    heat, size, offset = out
    m = t["mask"].unsqueeze(1)
    n = m.sum().clamp_min(1.0)
    l_heat = focal_loss(heat, t["heat"])
    l_size = (F.smooth_l1_loss(size, t["size"], reduction="none", beta=0.1) * m).sum() / n
    l_off = (F.l1_loss(offset, t["offset"], reduction="none") * m).sum() / n
    total = l_heat + l_size + l_off
    return total, {
        "heat": float(l_heat.detach()),
        "size": float(l_size.detach()),
        "offset": float(l_off.detach()),
    }


def make_batch(
    samples: list[FieldSample],
    idx: np.ndarray,
    rng: np.random.Generator,
    g: torch.Generator,
    cfg: DetectorTrainConfig,
    pcfg: PhotometricConfig,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    imgs, targets = [], []
    out_hw = cfg.canvas // STRIDE
    for i in idx:
        img, boxes, cls = random_view(
            samples[i], rng, cfg.canvas, INPUT_LONG_SIDE, cfg.scale_range, cfg.min_visible
        )
        imgs.append(img)
        targets.append(make_targets(boxes, cls, out_hw, out_hw, STRIDE, len(CLASSES)))
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float().div_(255.0)
    x = photometric(x, g, pcfg).contiguous(memory_format=torch.channels_last)
    t = {k: torch.from_numpy(np.stack([d[k] for d in targets])) for k in targets[0]}
    return x, t


@torch.no_grad()
def predict(
    model: CellDetector, image_rgb: np.ndarray, threshold: float, nms_iou: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Torch prediction with the run-time letterbox and post-processing."""
    inp, lb = letterbox(image_rgb, INPUT_LONG_SIDE)
    x = torch.from_numpy(inp).permute(2, 0, 1).unsqueeze(0).float().div_(255.0)
    heat, size, offset = DetectorExport(model).eval()(x)
    h, w = image_rgb.shape[:2]
    return postprocess(
        heat[0].numpy(),
        size[0].numpy(),
        offset[0].numpy(),
        STRIDE,
        1 / lb.scale,
        threshold,
        nms_iou,
        (w, h),
    )


def evaluate_model(
    model: CellDetector, samples: list[FieldSample], cfg: DetectorTrainConfig
) -> DetectionReport:
    model.eval()
    results = []
    for s in samples:
        boxes, classes, scores = predict(model, s.image, AP_SCORE_FLOOR, cfg.nms_iou)
        results.append(ImageResult(s.boxes, s.classes, boxes, classes, scores))
    return evaluate(results, CLASSES, cfg.count_threshold)


def train(cfg: DetectorTrainConfig) -> dict[str, Any]:
    set_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    g = seed_everything(cfg.seed)
    train_s = load_split(Path(cfg.data), "train", len(CLASSES), cfg.limit)
    val_s = load_split(Path(cfg.data), "val", len(CLASSES), cfg.limit)
    model = CellDetector(len(CLASSES))
    if cfg.init:  # fine-tuning: start from earlier weights (a checkpoint resumes over them)
        model.load_state_dict(torch.load(cfg.init, map_location="cpu", weights_only=False)["model"])
        log.info("starting from the weights in %s", cfg.init)
    model = model.to(memory_format=torch.channels_last)
    steps = max(1, len(train_s) // cfg.batch)
    state = TrainState(
        model, g, lr=cfg.lr, weight_decay=cfg.weight_decay,
        steps_per_epoch=steps, epochs=cfg.epochs, warmup_epochs=3,
    )  # fmt: skip
    state.resume(out / "last.ckpt")
    pcfg = PhotometricConfig()
    for epoch in range(state.epoch, cfg.epochs):
        model.train()
        rng = np.random.default_rng([cfg.seed, epoch])
        perm = rng.permutation(len(train_s))
        t0 = time.time()

        def batch_at(
            b: int, perm: np.ndarray = perm, rng: np.random.Generator = rng
        ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            return make_batch(train_s, perm[b * cfg.batch : (b + 1) * cfg.batch], rng, g, cfg, pcfg)

        batches = prefetch(batch_at, steps)
        sums: dict[str, float] = {}
        bar = tqdm(batches, total=steps, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False)
        for i, (x, t) in enumerate(bar, 1):
            loss, parts = detector_loss(model(x), t)
            state.step(loss, clip_norm=10.0)
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            bar.set_postfix({k: f"{v / i:.3f}" for k, v in sums.items()})
        rec: dict[str, Any] = {
            "epoch": epoch + 1,
            **{f"loss_{k}": v / steps for k, v in sums.items()},
        }
        evaluate_now = (
            (epoch + 1) % 5 == 0 or epoch + 1 >= cfg.epochs - 10 or epoch + 1 == cfg.epochs
        )
        if evaluate_now:
            ema_model = cast(CellDetector, state.ema.model)
            rep = evaluate_model(ema_model, val_s, cfg)
            score = rep.map50_95 + rep.map50
            rec.update({"val": rep.as_dict()})
            if score > state.best:
                state.best = score
                torch.save(
                    {"model": ema_model.state_dict(), "epoch": epoch + 1, "classes": CLASSES},
                    out / "best.pt",
                )
            tqdm.write(
                f"epoch {epoch + 1}: mAP50 {rep.map50:.4f} mAP50-95 {rep.map50_95:.4f} "
                f"AP50 {', '.join(f'{k} {v:.3f}' for k, v in rep.ap50.items())} "
                f"exact WBC {rep.exact_count_fraction['wbc']:.3f}"
            )
        rec["seconds"] = time.time() - t0
        state.record(rec, out)
        tqdm.write(
            f"epoch {epoch + 1}: "
            + ", ".join(f"{k} {v / steps:.4f}" for k, v in sums.items())
            + f" ({rec['seconds']:.0f} s)"
        )
        state.epoch = epoch + 1
        state.save(out / "last.ckpt", asdict(cfg))
    return {"best": state.best, "history": state.history}
