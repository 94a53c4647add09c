"""A fake classifier with class activation maps, for the heat-map tests (no model)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from ui_fakes import FakePipeline

CLASSES = (
    "basophil", "eosinophil", "erythroblast", "ig",
    "lymphocyte", "monocyte", "neutrophil", "platelet",
)  # fmt: skip
TOP, RUNNER_UP = "neutrophil", "monocyte"


class MapClassifier:
    """Every crop: most probably a neutrophil, then a monocyte; each class's map peaks in
    the crop's top-left corner (the runner-up's in the bottom-right). Records the threads
    the maps were computed on."""

    input_size = 64
    crop_scale = 2.0
    classes = CLASSES

    def __init__(self) -> None:
        self.threads: list[int] = []
        self.calls = 0

    def class_maps(self, crops: Any) -> np.ndarray:
        self.threads.append(threading.get_ident())
        self.calls += 1
        maps = np.zeros((len(crops), len(CLASSES), 4, 4), np.float32)
        maps[:, :, 0, 0] = 2.0
        maps[:, CLASSES.index(RUNNER_UP), 0, 0] = 0.0
        maps[:, CLASSES.index(RUNNER_UP), 3, 3] = 2.0
        return maps

    def classify_crops(self, crops: Any) -> Any:
        probs = np.full((len(crops), len(CLASSES)), 0.01)
        probs[:, CLASSES.index(TOP)] = 0.8
        probs[:, CLASSES.index(RUNNER_UP)] = 0.14
        return type("Classification", (), {"probabilities": probs})()


class MapPipeline(FakePipeline):
    """The fake pipeline with a classifier that gives maps."""

    def __init__(self) -> None:
        super().__init__()
        self.classifier = MapClassifier()
