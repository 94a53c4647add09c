"""Training utilities: seeding, checkpoints with resume, EMA weights, a prefetch thread."""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import queue
import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)
T = TypeVar("T")


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def set_threads(threads: int | None) -> None:
    if threads:
        torch.set_num_threads(threads)
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))


class EMA:
    """Exponential moving average of a model's weights (evaluated and exported)."""

    def __init__(self, model: nn.Module, decay: float = 0.999) -> None:
        self.model = copy.deepcopy(model).eval()
        self.decay = decay
        self.updates = 0
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        msd = model.state_dict()
        for k, v in self.model.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(msd[k].detach(), alpha=1 - d)
            else:
                v.copy_(msd[k])


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write atomically, so a run killed mid-write keeps its previous checkpoint."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=False)
    log.info("resuming from %s (epoch %d)", path, state["epoch"])
    return state


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def prefetch(make: Callable[[int], T], count: int, depth: int = 3) -> Iterator[T]:
    """Build items ``make(0..count-1)`` in a background thread, a few ahead.

    OpenCV and torch release the GIL, so batch preparation overlaps the training step.
    """
    q: queue.Queue[tuple[int, T | BaseException]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        for i in range(count):
            if stop.is_set():
                return
            try:
                item: T | BaseException = make(i)
            except BaseException as exc:  # handed to the consumer, re-raised there
                item = exc
            q.put((i, item))

    t = threading.Thread(target=work, daemon=True)
    t.start()
    try:
        for _ in range(count):
            _, item = q.get()
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while t.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                t.join(timeout=0.05)


class Companion(Protocol):
    """What trains beside the model (a domain head and its optimiser): its state goes into
    the run's checkpoint, so that all of it resumes from the same epoch."""

    def state(self) -> dict[str, Any]: ...

    def resume(self, saved: dict[str, Any]) -> None: ...


class TrainState:
    """One run's model, EMA weights, AdamW with warm-up and cosine decay, and generator.

    ``resume`` and ``save`` read and write the run's checkpoint, so a run stopped at any
    epoch continues from the last completed one with the same schedule and random draws.
    ``resume`` goes after every initial weight is drawn, as it restores the generators.
    """

    def __init__(
        self,
        model: nn.Module,
        g: torch.Generator,
        *,
        lr: float,
        weight_decay: float,
        steps_per_epoch: int,
        epochs: int,
        warmup_epochs: int,
        ema_decay: float = 0.998,
    ) -> None:
        self.model = model
        self.g = g
        self.ema = EMA(model, decay=ema_decay)
        self.opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        total = steps_per_epoch * epochs
        warm = min(steps_per_epoch * warmup_epochs, total // 10 + 1)

        def factor(step: int) -> float:
            return (
                min(1.0, (step + 1) / warm)
                * 0.5
                * (1 + math.cos(math.pi * min(step, total) / total))
            )

        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, factor)
        self.epoch = 0
        self.best = -1.0
        self.history: list[dict[str, Any]] = []

    def step(self, loss: torch.Tensor, clip_norm: float | None = None) -> None:
        """One optimiser step on ``loss``, then the schedule and the EMA weights."""
        self.opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip_norm)
        self.opt.step()
        self.sched.step()
        self.ema.update(self.model)

    def record(self, rec: dict[str, Any], folder: Path) -> None:
        """An epoch's figures: kept in the history (saved with the checkpoint) and
        appended to the run's ``history.jsonl``."""
        self.history.append(rec)
        append_jsonl(folder / "history.jsonl", rec)

    def resume(self, path: Path, companion: Companion | None = None) -> None:
        """Continue from the checkpoint at ``path`` if there is one, ``companion`` too
        (from what ``save`` kept of it; empty in a checkpoint of before companions)."""
        ckpt = load_checkpoint(path)
        if ckpt is None:
            return
        self.model.load_state_dict(ckpt["model"])
        self.ema.model.load_state_dict(ckpt["ema"])
        self.ema.updates = ckpt["ema_updates"]
        self.opt.load_state_dict(ckpt["opt"])
        self.sched.load_state_dict(ckpt["sched"])
        self.g.set_state(ckpt["torch_gen"])
        if "torch_rng" in ckpt:  # dropout draws from torch's global generator
            torch.set_rng_state(ckpt["torch_rng"])
        self.epoch, self.best, self.history = ckpt["epoch"], ckpt["best"], ckpt["history"]
        if companion is not None:
            companion.resume(ckpt.get("companion", {}))

    def save(self, path: Path, config: dict[str, Any], companion: Companion | None = None) -> None:
        """The checkpoint, with ``companion``'s state."""
        save_checkpoint(
            path,
            {
                "model": self.model.state_dict(),
                "ema": self.ema.model.state_dict(),
                "ema_updates": self.ema.updates,
                "opt": self.opt.state_dict(),
                "sched": self.sched.state_dict(),
                "torch_gen": self.g.get_state(),
                "torch_rng": torch.get_rng_state(),
                "epoch": self.epoch,
                "best": self.best,
                "history": self.history,
                "config": config,
                "companion": companion.state() if companion is not None else {},
            },
        )
