"""A weight average ("model soup") of detector runs that share a starting point.

Runs fine-tuned from the same weights stay in one basin of the loss, so the average of
their weights is a model of its own, often better than each (Wortsman et al., 2022,
"Model soups"). It costs nothing at run time: one model of the same size and speed.
Every floating-point tensor (weights and batch-norm statistics) is averaged; integer
buffers (batch-norm's step counters) are taken from the first run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

__all__ = ["average_weights", "make_soup", "member_cards"]


def average_weights(
    states: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[float]
) -> dict[str, torch.Tensor]:
    """The weighted average of ``states`` (same keys and shapes); ``weights`` sum to 1."""
    if len(states) < 2 or len(states) != len(weights):
        raise ValueError("give two or more states and one weight for each")
    if any(w < 0 for w in weights) or abs(sum(weights) - 1.0) > 1e-6:
        raise ValueError(f"weights must be >= 0 and sum to 1, got {list(weights)}")
    keys = list(states[0])
    for i, state in enumerate(states[1:], start=2):
        if list(state) != keys:
            raise ValueError(f"run {i} has other tensors than run 1: not the same model")
    out: dict[str, torch.Tensor] = {}
    for key in keys:
        first = states[0][key]
        if first.is_floating_point():
            total = sum(w * s[key].double() for w, s in zip(weights, states, strict=True))
            out[key] = total.to(first.dtype)  # type: ignore[union-attr]
        else:
            out[key] = first.clone()
    return out


def make_soup(runs: Sequence[Path], weights: Sequence[float], out: Path) -> Path:
    """Average the best weights (``best.pt``) of ``runs`` into ``out/best.pt``."""
    loaded = [torch.load(run / "best.pt", map_location="cpu", weights_only=False) for run in runs]
    state = average_weights([c["model"] for c in loaded], weights)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "best.pt"
    torch.save(
        {
            "model": state,
            "epoch": max(int(c["epoch"]) for c in loaded),
            "classes": loaded[0]["classes"],
            "soup_of": [str(run) for run in runs],
            "soup_weights": list(weights),
        },
        path,
    )
    return path


def member_cards(runs: Sequence[Path]) -> list[dict[str, Any]]:
    """Each run's own card training section (its command, epochs, ...), where it has one."""
    members = []
    for run in runs:
        card = run / "detector.json"
        training = (
            json.loads(card.read_text(encoding="utf-8")).get("training", {})
            if card.is_file()
            else {}
        )
        members.append({"run": str(run), **training})
    return members
