"""MixStyle with other laboratories' statistics: the labelled rows take a mix of their
own and a donor's feature statistics, keep their content, and nothing changes outside
training."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from hemoscope.training.classifier_model import CellClassifier  # noqa: E402
from hemoscope.training.feature_style import (  # noqa: E402
    StyleMixer,
    early_modules,
    mix_statistics,
)


def test_labelled_rows_take_statistics_between_their_own_and_a_donors() -> None:
    g = torch.Generator().manual_seed(0)
    labelled = torch.randn(6, 4, 8, 8, generator=g) * 0.5 + 1.0
    donors = torch.randn(6, 4, 8, 8, generator=g) * 3.0 - 5.0  # another laboratory's style
    x = torch.cat([labelled, donors])
    out = mix_statistics(x, 6, g, alpha=1.0)
    assert torch.equal(out[6:], donors)  # the unlabelled rows are left alone
    mu = out[:6].mean(dim=(2, 3))
    assert (mu <= 1.0 + 0.6).all() and (mu >= -5.0 - 0.6).all()
    assert (mu - labelled.mean(dim=(2, 3))).abs().max() > 0.5  # moved towards the donors

    # The content (the normalised map) is the crop's own.
    def normalised(t: torch.Tensor) -> torch.Tensor:
        return (t - t.mean(dim=(2, 3), keepdim=True)) / t.std(dim=(2, 3), keepdim=True)

    torch.testing.assert_close(normalised(out[:6]), normalised(labelled), atol=1e-3, rtol=1e-3)
    # Nothing to mix with, or nothing labelled: unchanged.
    assert torch.equal(mix_statistics(labelled, 6, g), labelled)
    assert torch.equal(mix_statistics(donors, 0, g), donors)


def test_the_hooks_act_in_training_only_and_can_be_removed() -> None:
    torch.manual_seed(0)
    model = CellClassifier(8)
    x = torch.rand(8, 3, 128, 128)
    model.eval()
    plain = model(x)
    mixer = StyleMixer(early_modules(model), 1.0, seed=1)
    mixer.new_step(4)
    torch.testing.assert_close(model(x), plain)  # evaluation: the plain network
    model.train()
    model.dropout.p = 0.0
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()
    mixed = model(x)
    assert not torch.allclose(mixed[:4], plain[:4], atol=1e-4)
    torch.testing.assert_close(mixed[4:], plain[4:])  # the donors' rows are their own
    mixer.remove()
    torch.testing.assert_close(model(x), plain)
    with pytest.raises(SystemExit, match="probability"):
        StyleMixer(early_modules(model), 0.0, seed=1)
