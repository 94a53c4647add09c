"""Draw a confusion matrix as a PNG image (OpenCV, no plotting library)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt


def render_confusion(
    cm: npt.NDArray[np.int64], names: Sequence[str], title: str = ""
) -> npt.NDArray[np.uint8]:
    """Rows true, columns predicted; cells shaded by the row-normalised rate."""
    n = len(names)
    cell, left, top = 64, 150, 150
    h, w = top + n * cell + 20, left + n * cell + 20
    img = np.full((h, w, 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    rows = cm.sum(axis=1, keepdims=True).astype(np.float64)
    rate = np.divide(cm, rows, out=np.zeros(cm.shape, np.float64), where=rows > 0)
    for i in range(n):
        for j in range(n):
            x0, y0 = left + j * cell, top + i * cell
            shade = int(255 - 200 * rate[i, j])
            colour = (255, shade, shade) if i != j else (shade, 255, shade)
            cv2.rectangle(img, (x0, y0), (x0 + cell, y0 + cell), colour, -1)
            cv2.rectangle(img, (x0, y0), (x0 + cell, y0 + cell), (180, 180, 180), 1)
            text = str(int(cm[i, j]))
            (tw, th), _ = cv2.getTextSize(text, font, 0.45, 1)
            cv2.putText(
                img,
                text,
                (x0 + (cell - tw) // 2, y0 + (cell + th) // 2),
                font,
                0.45,
                (0, 0, 0),
                1,
                cv2.LINE_AA,
            )
        cv2.putText(
            img,
            names[i][:16],
            (8, top + i * cell + cell // 2 + 5),
            font,
            0.45,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    for j in range(n):
        x = left + j * cell + cell // 2 + 5
        label = np.full((20, 140, 3), 255, np.uint8)
        cv2.putText(label, names[j][:16], (2, 15), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        rot = cv2.rotate(label, cv2.ROTATE_90_COUNTERCLOCKWISE)
        img[top - 145 : top - 5, x - 15 : x + 5] = np.minimum(
            img[top - 145 : top - 5, x - 15 : x + 5], rot
        )
    cv2.putText(img, "true \\ predicted", (8, top - 10), font, 0.4, (90, 90, 90), 1, cv2.LINE_AA)
    if title:
        cv2.putText(img, title[:60], (8, 18), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return img


def save_confusion_png(
    path: Path, cm: npt.NDArray[np.int64], names: Sequence[str], title: str = ""
) -> None:
    ok, buf = cv2.imencode(".png", render_confusion(cm, names, title))
    if not ok:
        raise OSError(f"could not encode {path}")
    path.write_bytes(buf.tobytes())
