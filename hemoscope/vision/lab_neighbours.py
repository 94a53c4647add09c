"""The laboratory's own cells as neighbours: a vote from the microscope's unlabelled
white cells.

Under another laboratory's stain and camera the classifier's errors are mostly
scattered: a cell called wrongly usually sits, in the classifier's own descriptor space
(`Classifier.logits_and_descriptor`), among cells of the same laboratory that it calls
right. A *neighbourhood* is fitted on a sample of one microscope's white cells, without
their labels:

1. the bank: the cells' descriptors, centred on their own mean and scaled to unit
   length (cosine similarity), at most `MAX_BANK` of them;
2. the graph: each cell joined to its `NEIGHBOURS` most similar bank cells, weighted
   ``exp((similarity - 1) / WIDTH)``, symmetric and normalised;
3. label spreading (Zhou et al., NIPS 2003): the classifier's own probabilities of the
   bank cells, ``F = SPREAD * W F + (1 - SPREAD) * P``, iterated `ITERATIONS` times; each
   bank cell's row of ``F`` is its neighbourhood's vote.

At run time a new cell's probabilities are ``WEIGHT * vote + (1 - WEIGHT) * own``, where
``vote`` is the similarity-weighted mean of its `NEIGHBOURS` nearest bank cells' votes.
The cell's own class still counts; the unfamiliar-cell flag (`vision.unfamiliar`) is
computed from its embedding as without a neighbourhood, and the review threshold is the
classifier card's, so the low-confidence flag reads the blended probabilities (which are
less peaked: more cells are flagged, and those left are more often right).

A class (nearly) absent from the bank cannot be voted for: a laboratory that calibrated on
ordinary samples has few or no erythroblasts, basophils or platelet-like boxes among its
cells, and the vote would call such a cell whatever its neighbours are (on PBC, with a
bank of an ordinary differential, 28 % of erythroblasts stayed right, 99 % flagged). A
cell whose own class is the vote of less than `RARE` of the bank's cells, and which the
classifier itself calls with confidence and does not find unfamiliar, keeps its own
probabilities and is flagged for review (`RARE_REASON`; `Neighbourhood.apply`): a rare
finding for the laboratory goes to a person, under its own name. An unsure call of a
class the laboratory's cells are not voted (often the classifier's own error under that
laboratory's stain) is still outvoted, and flagged by its blended confidence.

The constants were chosen on the two other laboratories' validation sets, each halved
at random into bank and scored cells (`benchmarks/neighbours_constants.py`): these are
among the steadiest combinations on both laboratories and within half a point of the best
of those on each. The whole pipeline's figures are `benchmarks/cross_lab.py --neighbours`.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hemoscope.vision.blas import one_blas_thread

__all__ = [
    "MAX_BANK",
    "MIN_BANK",
    "RARE_REASON",
    "Neighbourhood",
    "NeighbourhoodError",
    "bank_sample",
]

NEIGHBOURS = 20
"""Nearest bank cells a cell is joined to, in the graph and at run time."""
WIDTH = 0.1
"""Width of the similarity kernel ``exp((similarity - 1) / WIDTH)``."""
SPREAD = 0.95
"""How much of a bank cell's vote comes from its neighbours rather than itself."""
WEIGHT = 0.8
"""How much of a new cell's probabilities is its neighbours' vote."""
MAX_BANK = 2000
"""Most cells a neighbourhood keeps (a random sample of more; 1.5 MB in the profile)."""
MIN_BANK = 50
"""Fewest cells a neighbourhood is fitted on."""
RARE = 0.01
"""A class that less than this share of the bank's cells is voted is rare for the
laboratory."""
RARE_REASON = "class rare among this microscope's cells"
"""Review reason: the cell's own class is rare in the neighbourhood (`Neighbourhood.rare`)."""
ITERATIONS = 60

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


class NeighbourhoodError(ValueError):
    """A neighbourhood cannot be fitted or read."""


def bank_sample(n: int, seed: int = 0) -> npt.NDArray[np.int64]:
    """Which of ``n`` cells a neighbourhood keeps: all, or `MAX_BANK` drawn at random
    (in their original order)."""
    if n <= MAX_BANK:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, MAX_BANK, replace=False)).astype(np.int64)


@dataclass(frozen=True)
class Neighbourhood:
    centre: F64  # (D,) mean descriptor of the bank cells
    bank: F32  # (N, D) centred descriptors, unit length
    votes: F32  # (N, C) each bank cell's spread probabilities
    neighbours: int = NEIGHBOURS
    width: float = WIDTH
    spread: float = SPREAD
    weight: float = WEIGHT

    def __post_init__(self) -> None:
        n, d = np.shape(self.bank) if np.ndim(self.bank) == 2 else (-1, -1)
        if n < 1 or np.shape(self.centre) != (d,) or np.shape(self.votes)[:1] != (n,):
            raise NeighbourhoodError("the neighbourhood's arrays do not fit together")
        if not (np.isfinite(self.bank).all() and np.isfinite(self.votes).all()):
            raise NeighbourhoodError("the neighbourhood holds invalid numbers")
        if not (0 <= self.weight <= 1 and 0 <= self.spread < 1 and self.width > 0):
            raise NeighbourhoodError("the neighbourhood's constants are out of range")

    # Computed once per neighbourhood, not per batch of cells (the station's frames).
    @functools.cached_property
    def _bank64(self) -> F64:
        return self.bank.astype(np.float64)

    @functools.cached_property
    def _votes64(self) -> F64:
        return self.votes.astype(np.float64)

    @functools.cached_property
    def _voted_share(self) -> F64:
        """Per class, the share of bank cells whose vote it is."""
        counts = np.bincount(self.votes.argmax(axis=1), minlength=self.classes)
        out: F64 = counts / self.cells
        return out

    @property
    def cells(self) -> int:
        return int(self.bank.shape[0])

    @property
    def width_of_descriptor(self) -> int:
        return int(self.bank.shape[1])

    @property
    def classes(self) -> int:
        return int(self.votes.shape[1])

    def rule(self) -> str:
        """How a new cell's probabilities are made, in words (for the station and
        ``adapt``)."""
        return (
            f"Each new cell's probabilities: {self.weight:.0%} the vote of its "
            f"{self.neighbours} most similar of these {self.cells} cells, "
            f"{1 - self.weight:.0%} its own"
        )

    @classmethod
    def fit(
        cls,
        descriptors: npt.ArrayLike,
        probabilities: npt.ArrayLike,
        *,
        neighbours: int = NEIGHBOURS,
        spread: float = SPREAD,
        weight: float = WEIGHT,
    ) -> Neighbourhood:
        """Spread the classifier's ``probabilities`` (N, C) over the graph of the cells'
        ``descriptors`` (N, D). Raises `NeighbourhoodError` below `MIN_BANK` cells. The
        keywords are for measuring other constants (`benchmarks/neighbours_constants.py`)."""
        x = np.asarray(descriptors, np.float64)
        p = np.asarray(probabilities, np.float64)
        if x.ndim != 2 or p.ndim != 2 or len(x) != len(p):
            raise NeighbourhoodError(f"descriptors {x.shape} and probabilities {p.shape} differ")
        if len(x) < MIN_BANK:
            raise NeighbourhoodError(
                f"{len(x)} white cells; the laboratory's neighbourhood needs at least {MIN_BANK}"
            )
        if len(x) > MAX_BANK:
            keep = bank_sample(len(x))
            x, p = x[keep], p[keep]
        centre = x.mean(axis=0)
        bank = _unit(x - centre)
        with one_blas_thread():  # beside the inference worker's ONNX Runtime threads
            votes = _spread(bank, p, min(neighbours, len(bank) - 1), WIDTH, spread)
        return cls(
            centre,
            bank.astype(np.float32),
            votes.astype(np.float32),
            neighbours=neighbours,
            spread=spread,
            weight=weight,
        )

    # -- use -----------------------------------------------------------------------------
    def vote(self, descriptors: npt.ArrayLike) -> F64:
        """The neighbours' vote (N, C) for cells of these descriptors (N, D)."""
        x = np.asarray(descriptors, np.float64)
        if x.ndim != 2 or x.shape[1] != self.width_of_descriptor:
            raise ValueError(
                f"the neighbourhood expects descriptors (N, {self.width_of_descriptor}), "
                f"got {x.shape}"
            )
        if not len(x):
            return np.zeros((0, self.classes))
        with one_blas_thread():  # between two ONNX Runtime runs (`vision.blas`)
            sim = _unit(x - self.centre) @ self._bank64.T
        k = min(self.neighbours, self.cells)
        near = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        w = np.exp((np.take_along_axis(sim, near, axis=1) - 1.0) / self.width)
        votes = self._votes64[near]  # (N, k, C)
        out: F64 = (w[:, :, None] * votes).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-300)[:, None]
        return out

    def rare(self, probabilities: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Per cell: its own most probable class is the vote of less than `RARE` of the
        bank's cells, so the neighbours cannot speak for it."""
        p = np.asarray(probabilities, np.float64)
        if not len(p):
            return np.zeros(0, bool)
        out: npt.NDArray[np.bool_] = self._voted_share[p.argmax(axis=1)] < RARE
        return out

    def blend(self, probabilities: npt.ArrayLike, descriptors: npt.ArrayLike) -> F64:
        """``WEIGHT`` times the neighbours' vote plus the rest of the cell's own
        probabilities (N, C), renormalised."""
        p = np.asarray(probabilities, np.float64)
        if not len(p):
            return p.reshape(0, self.classes)
        q = self.weight * self.vote(descriptors) + (1.0 - self.weight) * p
        out: F64 = q / q.sum(axis=1, keepdims=True)
        return out

    def apply(
        self, probabilities: npt.ArrayLike, descriptors: npt.ArrayLike, trusted: npt.ArrayLike
    ) -> tuple[F64, npt.NDArray[np.bool_]]:
        """The probabilities the station uses, and which cells kept their own as `rare`:
        `blend`, except for a cell whose own class is `rare` and whose own call is
        ``trusted`` (confident and familiar), which keeps its own probabilities."""
        p = np.asarray(probabilities, np.float64)
        keep = self.rare(p) & np.asarray(trusted, bool)
        q = self.blend(p, descriptors)
        out: F64 = np.where(keep[:, None], p, q) if len(p) else q
        return out, keep

    # -- file ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "label spreading over the laboratory's own unlabelled white cells "
            "(cosine similarity of centred descriptors); a cell's probabilities are "
            "weight * its nearest bank cells' votes + (1 - weight) * its own",
            "cells": self.cells,
            "neighbours": self.neighbours,
            "width": self.width,
            "spread": self.spread,
            "weight": self.weight,
            "centre": [float(v) for v in self.centre],
            "bank": _encode(self.bank),
            "votes": _encode(self.votes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Neighbourhood:
        try:
            return cls(
                centre=np.asarray(data["centre"], np.float64),
                bank=_decode(data["bank"]),
                votes=_decode(data["votes"]),
                neighbours=int(data["neighbours"]),
                width=float(data["width"]),
                spread=float(data["spread"]),
                weight=float(data["weight"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise NeighbourhoodError(f"the neighbourhood is incomplete or damaged: {exc}") from exc


def _unit(x: F64) -> F64:
    out: F64 = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return out


def _spread(bank: F64, p: F64, k: int, width: float, alpha: float) -> F64:
    """Label spreading of ``p`` over the symmetric k-nearest-neighbour graph of ``bank``."""
    n = len(bank)
    sim = bank @ bank.T
    np.fill_diagonal(sim, -np.inf)
    near = np.argpartition(-sim, k - 1, axis=1)[:, :k]
    rows = np.repeat(np.arange(n), k)
    w = np.zeros((n, n))
    w[rows, near.ravel()] = np.exp((sim[rows, near.ravel()] - 1.0) / width)
    w = (w + w.T) / 2
    d = np.sqrt(np.maximum(w.sum(axis=1), 1e-300))
    w = w / d[:, None] / d[None, :]
    f = p.copy()
    for _ in range(ITERATIONS):
        f = alpha * (w @ f) + (1.0 - alpha) * p
    out: F64 = f / np.maximum(f.sum(axis=1, keepdims=True), 1e-300)
    return out


def _encode(a: npt.NDArray[np.floating[Any]]) -> dict[str, Any]:
    raw = np.ascontiguousarray(a, dtype="<f2").tobytes()
    return {"dtype": "float16", "shape": list(a.shape), "base64": base64.b64encode(raw).decode()}


def _decode(d: Mapping[str, Any]) -> F32:
    if d.get("dtype") != "float16":
        raise NeighbourhoodError(f"unknown array type {d.get('dtype')!r}")
    shape = tuple(int(s) for s in d["shape"])
    raw = base64.b64decode(str(d["base64"]), validate=True)
    flat = np.frombuffer(raw, dtype="<f2")
    if flat.size != int(np.prod(shape)):
        raise NeighbourhoodError("an array of the neighbourhood has the wrong length")
    return flat.reshape(shape).astype(np.float32)
