"""The Fourier amplitude style mix of ``train classifier --style`` (`training.style_mix`)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hemoscope.training.style_mix import amplitude_mix, low_frequencies, styled  # noqa: E402


def cell_crops(n: int, seed: int = 0) -> torch.Tensor:
    """Pale background with a dark round 'nucleus' at a random place: shapes to keep."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    out = torch.full((n, 3, 64, 64), 0.85)
    for i in range(n):
        cy, cx = (torch.rand(2, generator=g) * 30 + 17).tolist()
        disc = ((yy - cy) ** 2 + (xx - cx) ** 2) < 100
        out[i, :, disc] = torch.tensor([0.35, 0.2, 0.55])[:, None]
    return out


def test_no_mix_is_the_crop_itself_and_a_full_mix_takes_the_other_colours() -> None:
    x = cell_crops(3)
    style = torch.zeros_like(x)
    style[:, 0], style[:, 1], style[:, 2] = 0.9, 0.8, 0.3  # a yellow laboratory
    same = amplitude_mix(x, style, torch.zeros(3))
    assert torch.allclose(same, x, atol=1e-5)
    yellow = amplitude_mix(x, style, torch.ones(3))
    # Each channel's mean (the zero frequency) is the style's; the shapes (phase) stay:
    # the nucleus is still where it was, darker than the background in every channel.
    assert torch.allclose(yellow.mean(dim=(2, 3)), style.mean(dim=(2, 3)), atol=0.02)
    nucleus = x[:, 1] < 0.5
    for i in range(3):
        inside = yellow[i][:, nucleus[i]].mean(dim=1)
        outside = yellow[i][:, ~nucleus[i]].mean(dim=1)
        assert (inside < outside).all()
    with pytest.raises(ValueError, match="alike"):
        amplitude_mix(x, style[:, :, :32], torch.ones(3))


def test_the_low_frequency_square_and_the_share_styled() -> None:
    mask = low_frequencies(64, 0.08)  # 5 cycles each way: 11 x 11 of both signs
    assert mask.sum() == 11 * 11 and mask[0, 0] and mask[-1, -1] and not mask[32, 32]
    x = cell_crops(200)
    sources = torch.rand(8, 3, 64, 64)
    rng = np.random.default_rng(0)
    out = styled(x, sources, 0.5, rng)
    changed = (out - x).abs().amax(dim=(1, 2, 3)) > 1e-3
    assert 0.35 < float(changed.float().mean()) < 0.65
    assert torch.equal(styled(x, sources, 0.0, rng), x)
    assert out.min() >= 0 and out.max() <= 1
