"""Colour standardisation (`vision.stain`) on synthetic crops with known colour casts."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from hemoscope.vision import stain

S = 128
U8 = npt.NDArray[np.uint8]


def render(
    background: tuple[float, float, float],
    rbc_od: tuple[float, float, float],
    nucleus_od: tuple[float, float, float] = (1.2, 1.5, 0.6),
    rbc_cells: bool = True,
    cell_radius: float = 0.25,
) -> U8:
    """A crop as a camera sees it: the lamp's colour through optical densities.

    Red cells (discs of ``rbc_od``) sit in the ring, a white cell (``nucleus_od``) in
    the middle; the rest is bare glass."""
    yy, xx = np.mgrid[:S, :S].astype(np.float64)
    od = np.zeros((S, S, 3))
    if rbc_cells:
        for cx, cy in [(12, 14), (112, 20), (20, 110), (110, 112), (64, 8), (64, 120), (8, 64)]:
            disc = np.hypot(xx - cx, yy - cy) < 13
            od[disc] = rbc_od
    cell = np.hypot(xx - S / 2, yy - S / 2) < cell_radius * S
    od[cell] = nucleus_od
    img = np.asarray(background) * np.exp(-od)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


REF_BG = stain.REF_BACKGROUND
REF_OD = stain.REF_RBC_OD


def test_a_crop_like_the_reference_is_left_nearly_as_it_is() -> None:
    crop = render(REF_BG, REF_OD)
    out, est = stain.standardise(crop)
    assert est.basis == "background and red cells"
    assert np.allclose(est.background, REF_BG, atol=1.5)
    assert np.allclose(est.gain, 1.0, atol=0.05)
    assert np.abs(out.astype(int) - crop.astype(int)).max() <= 4


@pytest.mark.parametrize(
    ("background", "od_scale"),
    [
        ((255.0, 250.0, 160.0), (1.0, 1.0, 1.0)),  # a yellow lamp (Jiangxi-like)
        ((165.0, 212.0, 218.0), (1.0, 1.0, 1.0)),  # a cyan white balance (Bio-net-like)
        ((230.0, 230.0, 230.0), (1.6, 1.6, 1.6)),  # a darker, heavier stain
        ((250.0, 235.0, 215.0), (0.7, 1.3, 1.0)),  # another eosin balance
    ],
)
def test_known_colour_casts_are_undone(
    background: tuple[float, float, float], od_scale: tuple[float, float, float]
) -> None:
    reference = render(REF_BG, REF_OD)
    nucleus = (1.2, 1.5, 0.6)
    cast = render(
        background,
        tuple(o * s for o, s in zip(REF_OD, od_scale, strict=True)),  # type: ignore[arg-type]
        tuple(o * s for o, s in zip(nucleus, od_scale, strict=True)),  # type: ignore[arg-type]
    )
    before = np.abs(cast.astype(float) - reference).mean()
    out, est = stain.standardise(cast)
    after = np.abs(out.astype(float) - reference).mean()
    assert est.basis == "background and red cells"
    assert np.allclose(est.background, background, atol=2.0)
    # The background and the red cells come back to the reference's colour...
    assert np.allclose(out[2, 40], reference[2, 40], atol=3)  # bare glass
    assert np.allclose(out[14, 12], reference[14, 12], atol=4)  # a red cell
    # ... and the whole crop within a few grey levels on average.
    assert after < 3.0 and after < before / 4


def test_a_crop_filled_by_the_cell_falls_back_to_the_background_only() -> None:
    crop = render((250.0, 240.0, 180.0), REF_OD, rbc_cells=False, cell_radius=0.3)
    out, est = stain.standardise(crop)
    assert est.basis == "background only" and est.rbc_od is None and est.gain == (1, 1, 1)
    assert np.allclose(out[2, 2], REF_BG, atol=2)  # the white point is still corrected


def test_no_plausible_background_leaves_the_crop_alone() -> None:
    dark = np.full((S, S, 3), 40, np.uint8)
    out, est = stain.standardise(dark)
    assert est.basis == "none" and out is dark


def test_the_density_gains_are_clipped() -> None:
    faint = render(REF_BG, tuple(o / 10 for o in REF_OD))  # type: ignore[arg-type]
    est = stain.estimate(faint)
    assert est.basis == "background only" or max(est.gain) <= stain.OD_GAIN[1]


def test_batches_and_bad_shapes() -> None:
    crops = np.stack([render(REF_BG, REF_OD), render((165.0, 212.0, 218.0), REF_OD)])
    out, bases = stain.standardise_batch(crops)
    assert out.shape == crops.shape and out.dtype == np.uint8
    assert bases == ("background and red cells", "background and red cells")
    with pytest.raises(ValueError, match="square RGB"):
        stain.estimate(np.zeros((10, 12, 3), np.uint8))
    with pytest.raises(ValueError, match="crops"):
        stain.standardise_batch(np.zeros((10, 10, 3), np.uint8))
