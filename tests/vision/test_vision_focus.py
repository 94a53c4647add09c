"""The focus check: blur width measured from the picture alone."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from hemoscope.vision.focus import OUT_OF_FOCUS_WIDTH, blur_width, out_of_focus

S = 128


def cell(
    sigma: float, ink: tuple[int, int, int] = (70, 30, 110), seed: int = 0
) -> npt.NDArray[np.uint8]:
    """A dark nucleus in a pale cell on glass, blurred by ``sigma`` crop pixels, with
    camera noise."""
    img = np.full((S, S, 3), (250.0, 228.0, 205.0))
    cv2.circle(img, (64, 64), 40, (170, 130, 190), -1)
    cv2.circle(img, (58, 62), 18, ink, -1)
    if sigma > 0:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    rng = np.random.default_rng(seed)
    return np.clip(img + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("sigma", [2.0, 4.0, 8.0])
def test_the_width_of_a_known_blur_of_one_edge_is_measured(sigma: float) -> None:
    # One dark disc on glass: one edge carries the whole contrast. The light smoothing
    # of the measure adds in quadrature: sqrt(sigma^2 + 1).
    disc = np.full((S, S, 3), (250.0, 228.0, 205.0))
    cv2.circle(disc, (64, 64), 40, (90, 50, 120), -1)
    disc = cv2.GaussianBlur(disc, (0, 0), sigma)
    width = blur_width(disc.astype(np.uint8)[None])[0]
    assert width == pytest.approx(np.hypot(sigma, 1.0), rel=0.15)


def test_blur_width_grows_with_blur_and_flags_only_far_out_of_focus_cells() -> None:
    sigmas = [0.0, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0]
    widths = blur_width(np.stack([cell(s) for s in sigmas]))
    assert np.all(np.diff(widths) > 0), widths
    flags = out_of_focus(np.stack([cell(s) for s in sigmas]))
    assert flags.tolist() == [w > OUT_OF_FOCUS_WIDTH for w in widths]
    assert not flags[:3].any() and flags[-3:].all()


def test_blur_width_does_not_change_with_brightness_contrast_or_colour_cast() -> None:
    img = cell(3.0).astype(np.float64)
    base = blur_width(img.astype(np.uint8)[None])[0]
    darker = img * 0.6
    cast = img * (0.8, 1.0, 1.15)
    flatter = 128 + (img - 128) * 0.5
    for other in (darker, cast, flatter):
        width = blur_width(np.clip(other, 0, 255).astype(np.uint8)[None])[0]
        assert width == pytest.approx(base, rel=0.1)


def test_blank_and_noisy_crops_are_not_out_of_focus() -> None:
    blank = np.full((1, S, S, 3), 230, np.uint8)
    noise = np.random.default_rng(1).integers(0, 256, (1, S, S, 3)).astype(np.uint8)
    assert blur_width(blank)[0] == 0.0
    assert blur_width(noise)[0] < 2.0
    assert not out_of_focus(np.concatenate([blank, noise])).any()
