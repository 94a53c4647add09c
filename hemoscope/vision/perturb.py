"""Fixed image perturbations for stress-testing the classifier (numpy + OpenCV).

Each one imitates a way another laboratory's images differ: stain balance, white
balance, exposure, focus, noise, compression and resolution. They are deterministic so
a stress table can be reproduced exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]

# Haematoxylin / eosin / DAB stain vectors (rows), as in augmentation.
_RGB_FROM_HED = np.array([[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]])
_RGB_FROM_HED = _RGB_FROM_HED / np.linalg.norm(_RGB_FROM_HED, axis=1, keepdims=True)
_HED_FROM_RGB = np.linalg.inv(_RGB_FROM_HED)


def _u8(a: npt.NDArray[np.generic]) -> U8:
    return np.clip(np.asarray(a, np.float64) + 0.5, 0, 255).astype(np.uint8)


def stain(img: U8, h: float, e: float) -> U8:
    od = -np.log(np.clip(img.astype(np.float64) / 255.0, 1 / 255, 1.0))
    hed = od @ _HED_FROM_RGB
    hed[..., 0] *= h
    hed[..., 1] *= e
    return _u8(np.exp(-(hed @ _RGB_FROM_HED)) * 255.0)


def gamma(img: U8, g: float) -> U8:
    lut = _u8(((np.arange(256) / 255.0) ** g) * 255.0)
    return np.asarray(lut[img], np.uint8)


def gains(img: U8, r: float, g: float, b: float) -> U8:
    return _u8(img.astype(np.float64) * np.array([r, g, b]))


def blur(img: U8, sigma: float) -> U8:
    return np.asarray(cv2.GaussianBlur(img, (0, 0), sigma), np.uint8)


def jpeg(img: U8, quality: int) -> U8:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    dec = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if ok else None
    return img if dec is None else np.asarray(dec, np.uint8)


def noise(img: U8, std: float, seed: int = 0) -> U8:
    rng = np.random.default_rng(seed)
    return _u8(img.astype(np.float64) + rng.normal(0, std, img.shape))


def low_resolution(img: U8, factor: float) -> U8:
    h, w = img.shape[:2]
    small = cv2.resize(
        img, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=cv2.INTER_AREA
    )
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), np.uint8)


def bluer_stain(img: U8) -> U8:
    """Stronger basic dye, weaker acidic dye, bluish light: a 'bluer' laboratory."""
    return gains(stain(img, 1.25, 0.7), 0.92, 1.0, 1.08)


PERTURBATIONS: dict[str, Callable[[U8], U8]] = {
    "none": lambda im: im,
    "blur sigma 1": lambda im: blur(im, 1.0),
    "blur sigma 2": lambda im: blur(im, 2.0),
    "bluer stain": bluer_stain,
    "pinker stain (H x0.8, E x1.3)": lambda im: stain(im, 0.8, 1.3),
    "darker (gamma 1.5)": lambda im: gamma(im, 1.5),
    "brighter (gamma 0.67)": lambda im: gamma(im, 0.67),
    "blue white balance": lambda im: gains(im, 0.85, 1.0, 1.15),
    "yellow white balance": lambda im: gains(im, 1.1, 1.05, 0.85),
    "JPEG quality 30": lambda im: jpeg(im, 30),
    "noise sigma 8": lambda im: noise(im, 8.0),
    "half resolution": lambda im: low_resolution(im, 0.5),
    "blurrier + bluer + JPEG 50": lambda im: jpeg(bluer_stain(blur(im, 1.5)), 50),
}
"""Perturbations applied to RGB crops, by name."""
