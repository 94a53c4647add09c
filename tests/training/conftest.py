"""Tiny generated data sets for training smoke tests (no ../shared/data needed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

PBC_CLASSES = (
    "basophil", "eosinophil", "erythroblast", "ig",
    "lymphocyte", "monocyte", "neutrophil", "platelet",
)  # fmt: skip


def _smear(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    img = np.full((h, w, 3), (225, 215, 235), np.uint8)
    for _ in range(max(2, h * w // 4000)):
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(img, c, int(rng.integers(10, 16)), (170, 150, 215), -1)
    return img


@pytest.fixture(scope="session")
def cell_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ImageFolder tree: 8 classes x 6 images, the class coded by the nucleus colour."""
    root = tmp_path_factory.mktemp("cells")
    rng = np.random.default_rng(0)
    for k, name in enumerate(PBC_CLASSES):
        (root / name).mkdir()
        for i in range(6):
            img = _smear(rng, 96, 96)
            colour = (40 + 25 * k, 20, 200 - 20 * k)
            cv2.circle(img, (48, 48), 18, colour, -1)
            cv2.imwrite(str(root / name / f"{name[:3].upper()}_{i}.jpg"), img)
    return root


@pytest.fixture(scope="session")
def yolo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A YOLO layout with train/val fields of round 'cells' of three sizes."""
    root = tmp_path_factory.mktemp("fields")
    rng = np.random.default_rng(1)
    for split, n in (("train", 6), ("val", 2)):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for i in range(n):
            h, w = 240, 320
            img = np.full((h, w, 3), (225, 215, 235), np.uint8)
            lines = []
            for cls, radius, colour, count in (
                (0, 30, (160, 60, 90), 1),
                (1, 16, (170, 150, 215), 5),
                (2, 5, (140, 80, 150), 3),
            ):
                for _ in range(count):
                    cx, cy = (
                        int(rng.integers(radius, w - radius)),
                        int(rng.integers(radius, h - radius)),
                    )
                    cv2.circle(img, (cx, cy), radius, colour, -1)
                    lines.append(
                        f"{cls} {cx / w:.6f} {cy / h:.6f} {2 * radius / w:.6f} {2 * radius / h:.6f}"
                    )
            cv2.imwrite(str(root / "images" / split / f"f{i}.jpg"), img)
            (root / "labels" / split / f"f{i}.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def trained_looking() -> Callable[..., Any]:
    """Makes a classifier with random weights and BatchNorm statistics far from the
    identity, as training leaves them (seeded)."""
    torch = pytest.importorskip("torch")
    from hemoscope.training.classifier_model import CellClassifier

    def make(seed: int = 3) -> Any:
        torch.manual_seed(seed)
        model = CellClassifier(len(PBC_CLASSES))
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.normal_(0, 0.5)
                    m.running_var.uniform_(0.3, 3.0)
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.normal_(0, 0.2)
        return model.eval()

    return make


@pytest.fixture(scope="session")
def other_labs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Other laboratories' unlabelled cells, one sub-folder each (``--domains``)."""
    root = tmp_path_factory.mktemp("domains")
    for lab, colour in (("lab-a", (200, 120, 60)), ("lab-b", (60, 200, 120))):
        (root / lab).mkdir(parents=True)
        for i in range(3):
            img = np.full((80, 80, 3), 230, np.uint8)
            cv2.circle(img, (40, 40), 15, colour, -1)
            cv2.imwrite(str(root / lab / f"{i}.png"), img)
    return root
