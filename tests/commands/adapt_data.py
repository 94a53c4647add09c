"""Generated laboratories for the adapt tests: single-cell images of three classes,
each drawn differently, under a colour cast the models never saw."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

LAB_CLASSES = ("neutrophil", "lymphocyte", "eosinophil")


def lab_cell(
    cls: str, seed: int, cast: tuple[float, float, float] = (0.75, 0.95, 1.25)
) -> np.ndarray:
    """A 96x96 BGR single-cell image of one class, in a laboratory with a yellow cast."""
    rng = np.random.default_rng(seed)
    img = np.full((96, 96, 3), (200, 190, 225), np.float64)
    for _ in range(5):  # red cells around
        c = (int(rng.integers(0, 96)), int(rng.integers(0, 96)))
        cv2.circle(img, c, 14, (160, 140, 215), -1)
    centre = (48 + int(rng.integers(-4, 5)), 48 + int(rng.integers(-4, 5)))
    if cls == "neutrophil":
        cv2.circle(img, centre, 22, (190, 160, 200), -1)
        for k in range(3):
            cv2.circle(img, (centre[0] - 9 + 9 * k, centre[1]), 6, (140, 40, 90), -1)
    elif cls == "lymphocyte":
        cv2.circle(img, centre, 17, (150, 40, 50), -1)
    else:
        cv2.circle(img, centre, 22, (60, 110, 230), -1)
        cv2.circle(img, centre, 7, (140, 40, 90), -1)
    img += rng.normal(0, 6, img.shape)
    img *= np.array(cast)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_lab(root: Path, per_class: int, seed: int) -> Path:
    for i, cls in enumerate(LAB_CLASSES):
        (root / cls).mkdir(parents=True)
        for j in range(per_class):
            cv2.imwrite(str(root / cls / f"{cls}{j}.png"), lab_cell(cls, seed + 1000 * i + j))
    return root
