"""Other laboratories' white cells measured every epoch, for the record only.

`--monitor NAME=FOLDER` (an ImageFolder of single-cell images or fields with one white
cell near the centre) is framed once as run time frames it (the shipped detector and the
crop rule, `vision.single_cell`) and classified after every epoch; accuracy and balanced
accuracy go to the run's history. The best epoch is still chosen on the training
laboratory's validation split alone: these sets measure, they never select.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from hemoscope.training.classifier_model import INPUT_SIZE
from hemoscope.vision.crops import CROP_SCALE
from hemoscope.vision.datasets import list_samples, load_rgb

log = logging.getLogger(__name__)


@dataclass
class Monitor:
    sets: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @classmethod
    def load(cls, specs: Sequence[str], classes: Sequence[str], standardise: bool) -> Monitor:
        if not specs:
            return cls()
        from hemoscope.vision.detector import Detector
        from hemoscope.vision.single_cell import frame_single_cell
        from hemoscope.vision.stain import standardise_batch

        finder = Detector(threads=1)
        sets: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for spec in specs:
            name, _, folder = spec.partition("=")
            if not folder:
                raise SystemExit(f"--monitor takes NAME=FOLDER, got '{spec}'")
            samples, _unknown = list_samples(Path(folder), tuple(classes))
            crops = np.stack(
                [
                    frame_single_cell(load_rgb(s.path), INPUT_SIZE, CROP_SCALE, finder, "rgb")[0]
                    for s in samples
                ]
            )
            if standardise:
                crops, _ = standardise_batch(crops)
            sets[name] = (crops, np.array([s.label for s in samples], np.int64))
            log.info("monitor %s: %d cells from %s", name, len(samples), folder)
        return cls(sets)

    @torch.no_grad()
    def measure(self, model: torch.nn.Module) -> dict[str, float]:
        model.eval()
        out: dict[str, float] = {}
        for name, (crops, y) in self.sets.items():
            pred = []
            for s in range(0, len(crops), 128):
                x = torch.from_numpy(crops[s : s + 128]).permute(0, 3, 1, 2).float().div_(255.0)
                pred.append(model(x).argmax(1).numpy())
            p = np.concatenate(pred)
            recalls = [float((p[y == k] == k).mean()) for k in np.unique(y) if (y == k).sum() >= 5]
            out[f"monitor_{name}_accuracy"] = float((p == y).mean())
            out[f"monitor_{name}_balanced"] = float(np.mean(recalls))
        return out
