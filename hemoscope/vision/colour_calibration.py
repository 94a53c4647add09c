"""Colour calibration of one microscope, from its own white-cell crops, no labels needed.

Another laboratory's camera, lamp and stain shift every colour the classifier sees: the
rapid stain of one laboratory makes neutrophil cytoplasm as pink as PBC's eosinophils,
another's pale eosin makes eosinophils look like neutrophils. Pooled over many cells of
one microscope, the crops' colour statistics describe the microscope rather than any one
cell: which cells they are averages out. The calibration maps the pooled per-channel
mean and standard deviation of the microscope's crops (all pixels of all crops, RGB) to
those of the training laboratory's crops (the classifier card's ``colour_reference``),
one affine map per channel:

    out = (pixel - lab_mean) / lab_std x ref_std + ref_mean

applied to each crop (a lookup table per channel). The classifier then averages what it
makes of the camera's crop and of the calibrated one (`vision.classifier.colour_average`).

Why this and not per-crop standardisation (`vision.stain`) or re-normalised network
statistics: measured with the shipped classifier on the two other laboratories in
``../shared/data/other-labs`` (`benchmarks/cross_lab.py --calibrate`), this map was the
only one of the variants tried that helped both laboratories and left PBC unchanged;
per-crop standardisation, the same map in CIE Lab, a full colour-covariance map (CORAL)
and re-estimated BatchNorm statistics (AdaBN, all or the first layers) each lost on at
least one laboratory. The figures are in the classifier card (``metrics.cross_lab``).

A calibration belongs to one microscope; it is part of a laboratory profile
(`vision.lab_profile`), fitted by ``hemoscope adapt --colour-only`` from that
microscope's unlabelled cells (ten cells already give most of the effect; `MIN_CELLS`
are required), or tried by a labelled ``hemoscope adapt`` under its head refit and kept
when it cross-validates better (`vision.lab_adapt_colour`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]

MIN_CELLS = 10
"""Fewest crops a calibration is fitted on."""
MIN_STD = 2.0
"""A channel whose pooled spread is below this (grey levels) is not scaled (a blank or
saturated channel would be blown up)."""
MAX_GAIN = 4.0
"""Largest scale of a channel either way: beyond it the pictures are not a smear's."""


class CalibrationError(ValueError):
    """Crops that cannot calibrate a microscope, or a reference the card lacks."""


@dataclass(frozen=True)
class ColourReference:
    """The training crops' pooled per-channel RGB mean and standard deviation."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> ColourReference | None:
        ref = card.get("colour_reference")
        if not isinstance(ref, Mapping):
            return None
        try:
            mean = tuple(float(v) for v in ref["mean"])
            std = tuple(float(v) for v in ref["std"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationError(f"the card's colour_reference is damaged: {exc}") from exc
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise CalibrationError("the card's colour_reference needs three means and stds")
        return cls((mean[0], mean[1], mean[2]), (std[0], std[1], std[2]))


def pooled_stats(crops: U8) -> tuple[F64, F64]:
    """Per-channel mean and standard deviation of every pixel of ``crops`` (N, H, W, 3),
    accumulated in float64 (a float32 sum over millions of pixels drifts)."""
    arr = np.asarray(crops)
    if arr.ndim != 4 or arr.shape[-1] != 3 or len(arr) == 0:
        raise CalibrationError(f"expected crops (N, H, W, 3), got {arr.shape}")
    counts = np.zeros((3, 256), np.float64)
    for c in range(3):
        counts[c] = np.bincount(arr[..., c].ravel(), minlength=256)
    levels = np.arange(256, dtype=np.float64)
    n = counts.sum(axis=1)
    mean = counts @ levels / n
    var = counts @ levels**2 / n - mean**2
    return mean, np.sqrt(np.maximum(var, 0.0))


@dataclass(frozen=True)
class ColourCalibration:
    lab_mean: tuple[float, float, float]
    lab_std: tuple[float, float, float]
    reference: ColourReference
    cells: int

    @classmethod
    def fit(cls, crops: U8, reference: ColourReference) -> ColourCalibration:
        """The calibration of the microscope that took ``crops`` (its white cells as the
        classifier frames them). Raises `CalibrationError` for fewer than `MIN_CELLS`."""
        if len(crops) < MIN_CELLS:
            raise CalibrationError(
                f"colour calibration needs at least {MIN_CELLS} white cells of the "
                f"microscope, got {len(crops)}"
            )
        mean, std = pooled_stats(crops)
        return cls(
            (float(mean[0]), float(mean[1]), float(mean[2])),
            (float(std[0]), float(std[1]), float(std[2])),
            reference,
            len(crops),
        )

    def gains(self) -> F64:
        lab = np.asarray(self.lab_std)
        ref = np.asarray(self.reference.std)
        g = np.where(lab >= MIN_STD, ref / np.maximum(lab, 1e-9), 1.0)
        return np.clip(g, 1 / MAX_GAIN, MAX_GAIN)

    def tables(self) -> U8:
        """The per-channel lookup tables (3, 256)."""
        levels = np.arange(256, dtype=np.float64)
        g = self.gains()
        out = np.empty((3, 256), np.uint8)
        for c in range(3):
            v = (levels - self.lab_mean[c]) * g[c] + self.reference.mean[c]
            out[c] = np.clip(np.rint(v), 0, 255).astype(np.uint8)
        return out

    def apply(self, crops: U8) -> U8:
        """``crops`` (..., 3) uint8 as the training laboratory's microscope shows them."""
        arr = np.asarray(crops, np.uint8)
        t = self.tables()
        out = np.empty_like(arr)
        for c in range(3):
            out[..., c] = t[c][arr[..., c]]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "per-channel RGB mean and standard deviation of the microscope's "
            "white-cell crops (pooled) mapped to the training crops'",
            "cells": self.cells,
            "lab_mean": list(self.lab_mean),
            "lab_std": list(self.lab_std),
            "reference_mean": list(self.reference.mean),
            "reference_std": list(self.reference.std),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColourCalibration:
        def three(key: str) -> tuple[float, float, float]:
            v = [float(x) for x in data[key]]
            if len(v) != 3 or not all(np.isfinite(v)):
                raise ValueError(f"{key} needs three finite numbers")
            return (v[0], v[1], v[2])

        ref = ColourReference(three("reference_mean"), three("reference_std"))
        return cls(three("lab_mean"), three("lab_std"), ref, int(data["cells"]))
