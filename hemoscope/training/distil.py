"""Distilling the run time's view averaging into one view (``train classifier --distil``).

The shipped classifier is asked for each cell in several views (the crop and its mirror
image inside the graph, and at run time its quarter turn too: card ``turns``): on other
laboratories' cells the average is 2-3 points more often right than the crop alone, and
it costs one pass of the network per view. Here a student learns what the teacher says
of a crop *averaged over all eight of its turns and mirror images* (the symmetry group
of the square, under which a cell's class does not change), from the crop alone, so
that fewer views can give as much at run time (Hinton et al., 2015).

The student sees each training crop once, augmented as usual; the teacher sees the same
crop in its eight views. The loss is the usual cross-entropy on the labelled cells plus
the Kullback-Leibler divergence of the student's softened probabilities from the
teacher's (temperature `TEMPERATURE`, scaled by its square) on every cell, including
unlabelled cells of other laboratories (``--domains``): there the teacher's averaged
views are the only target, and the student learns to answer for one view of another
microscope's cell what the teacher answers for eight.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from hemoscope.training.onnx_import import import_for

if TYPE_CHECKING:
    from hemoscope.training.classifier_model import CellClassifier
    from hemoscope.training.train_classifier import ClassifierTrainConfig

__all__ = ["TEMPERATURE", "Distiller", "eight_views"]

log = logging.getLogger(__name__)

TEMPERATURE = 2.0
"""Softening of both sides' probabilities (Hinton et al. use 2-4); the divergence is
scaled by its square so that its gradients stay the size of the cross-entropy's."""


def eight_views(x: torch.Tensor) -> torch.Tensor:
    """A batch (N, 3, S, S) in the eight views of the square's symmetry group: four
    quarter turns of the crop, then four of its mirror image; (8N, 3, S, S)."""
    mirror = torch.flip(x, dims=(3,))
    return torch.cat([torch.rot90(v, r, dims=(2, 3)) for v in (x, mirror) for r in range(4)])


class Distiller:
    """The teacher and the weight of its loss. The unlabelled cells it speaks for
    (``--domains``) are drawn by the training loop (`train_classifier.OtherCells`) and come
    with labels below 0."""

    def __init__(self, teacher: CellClassifier, weight: float) -> None:
        self.teacher = teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.weight = weight
        self.kd_sum, self.agree, self.seen = 0.0, 0, 0

    @classmethod
    def start(cls, cfg: ClassifierTrainConfig, classes: tuple[str, ...]) -> Distiller:
        teacher = import_for("--distil", Path(cfg.distil), classes)
        log.info("distilling %s (eight views) into one view, weight %g", cfg.distil,
                 cfg.distil_weight)  # fmt: skip
        return cls(teacher, cfg.distil_weight)

    @torch.no_grad()
    def targets(self, x: torch.Tensor) -> torch.Tensor:
        """The teacher's logits of each crop, averaged over its eight views."""
        n = len(x)
        views = eight_views(x).contiguous(memory_format=torch.channels_last)
        out = torch.cat([self.teacher(views[s : s + 256]) for s in range(0, len(views), 256)])
        return out.view(8, n, -1).mean(dim=0)

    def loss(
        self, model: CellClassifier, x: torch.Tensor, y: torch.Tensor, smoothing: float
    ) -> torch.Tensor:
        """Cross-entropy on the labelled rows (``y >= 0``) and the weighted divergence
        from the teacher's averaged views on all rows."""
        lab = y >= 0
        logits = model(x)
        teacher = self.targets(x)
        t = TEMPERATURE
        kd = F.kl_div(
            F.log_softmax(logits / t, dim=1), F.log_softmax(teacher / t, dim=1),
            reduction="batchmean", log_target=True,
        ) * (t * t)  # fmt: skip
        ce = (
            F.cross_entropy(logits[lab], y[lab], label_smoothing=smoothing)
            if bool(lab.any())
            else logits.sum() * 0.0
        )
        with torch.no_grad():
            self.kd_sum += float(kd) * len(y)
            self.agree += int((logits.argmax(1) == teacher.argmax(1)).sum())
            self.seen += len(y)
        return ce + self.weight * kd

    def summary(self) -> dict[str, float]:
        """The epoch's mean divergence and how often the student's class was the
        teacher's (training crops, augmented)."""
        out = {
            "distil_loss": self.kd_sum / max(1, self.seen),
            "teacher_agreement": self.agree / max(1, self.seen),
        }
        self.kd_sum, self.agree, self.seen = 0.0, 0, 0
        return out
