"""StackGAN++: the generator tree's scales, the unconditional terms and the colour-consistency
regulariser against their formulas."""

import pytest
import torch
from torch import nn

from ganforge.data import DataSpec
from ganforge.errors import GanforgeError
from ganforge.losses.consistency import color_consistency
from ganforge.methods import METHODS
from ganforge.models.stackgan import TreeGenerator
from ganforge.models.text import ConditioningAugmentation, SentenceEncoder
from tests.methods.test_methods import tiny_config
from tests.methods.test_text2img import StubD, StubG

SPEC = DataSpec(1, 28, num_classes=3, vocabulary=tuple(f"w{i}" for i in range(10)),
                caption_length=2)
BATCH = {"x": torch.tensor([0.2, -0.4, 0.6, 0.8]).view(4, 1, 1, 1).expand(4, 1, 28, 28),
         "caption": torch.tensor([[1, 0], [2, 3], [4, 0], [5, 1]]),
         "label": torch.tensor([0, 0, 1, 2])}


class StubUncondD(StubD):
    """StubD with an unconditional score of twice the mean pixel."""

    def unconditional(self, h):
        return 2 * h[:, 0]


def method(tmp_path, name="stackgan++", **settings):
    cfg = tiny_config(name, tmp_path / name, dataset="captioned-digits", image_size=28,
                      batch_size=4, **settings)
    m = METHODS.get(name)(cfg, SPEC)
    m.G, m.D = StubG(), nn.ModuleList([StubUncondD()])
    return m


def test_color_consistency_is_the_papers_sum_over_scales():
    g = torch.Generator().manual_seed(0)
    images = [torch.randn(2, 3, s, s, generator=g) for s in (4, 8, 16)]
    expected = 0.0
    for coarse, fine in zip(images, images[1:], strict=False):
        for n in range(2):
            a, b = coarse[n].reshape(3, -1).double(), fine[n].reshape(3, -1).double()
            mu_a, mu_b = a.mean(1), b.mean(1)
            cov_a = (a - mu_a[:, None]) @ (a - mu_a[:, None]).T / a.shape[1]
            cov_b = (b - mu_b[:, None]) @ (b - mu_b[:, None]).T / b.shape[1]
            expected += (((mu_b - mu_a) ** 2).sum() + 5 * ((cov_b - cov_a) ** 2).sum()) / 2
    assert color_consistency(images).item() == pytest.approx(expected.item(), rel=1e-5)
    # An image and its average-pooled copy have the same mean colour.
    x = torch.rand(3, 3, 8, 8, generator=g)
    same_mean = color_consistency([nn.functional.avg_pool2d(x, 2), x], cov_weight=0.0)
    assert same_mean.item() < 1e-10


def test_losses_add_the_unconditional_terms_and_the_colour_term(tmp_path):
    plain = method(tmp_path, "text2img")
    pp = method(tmp_path, uncond_weight=0.5, color_weight=3.0)
    pp.G, pp.D = plain.G, plain.D
    real = torch.tensor([0.2, -0.4, 0.6, 0.8])
    bce = nn.functional.binary_cross_entropy_with_logits
    uncond_d = bce(2 * real, torch.ones(4)) + bce(torch.full((4,), 1.0), torch.zeros(4))
    assert pp.d_loss(BATCH)[0].item() == pytest.approx(
        (plain.d_loss(BATCH)[0] + 0.5 * uncond_d).item(), rel=1e-5)
    torch.manual_seed(0)
    g_plain = plain.g_loss(BATCH)[0]
    torch.manual_seed(0)
    uncond_g = bce(torch.full((4,), 1.0), torch.ones(4))  # non-saturating, on 2 x 0.5
    assert pp.g_loss(BATCH)[0].item() == pytest.approx((g_plain + 0.5 * uncond_g).item(),
                                                       rel=1e-5)
    fakes = [torch.rand(2, 1, 7, 7), torch.rand(2, 1, 14, 14)]
    loss, logs = pp.across_scales(fakes, BATCH)
    assert loss.item() == pytest.approx(3.0 * color_consistency(fakes).item())
    assert plain.across_scales(fakes, BATCH) == (0.0, {})


def test_the_tree_draws_every_scale_and_each_scale_has_its_d(tmp_path):
    encoder = SentenceEncoder(10)
    G = TreeGenerator(8, encoder, ConditioningAugmentation(encoder.out_dim, 6), 1,
                      [7, 14, 28], width=8)
    images, kl = G.stages(torch.randn(5, 14), torch.tensor([[1, 2]] * 5))
    assert [tuple(x.shape) for x in images] == [(5, 1, 7, 7), (5, 1, 14, 14), (5, 1, 28, 28)]
    assert kl.dim() == 0 and torch.equal(G(torch.zeros(2, 14), torch.tensor([[1, 2]] * 2)),
                                         G.stages(torch.zeros(2, 14),
                                                  torch.tensor([[1, 2]] * 2))[0][-1])
    cfg = tiny_config("stackgan++", tmp_path, dataset="captioned-digits", image_size=28)
    built = METHODS.get("stackgan++")(cfg, SPEC)
    x = {7: torch.randn(2, 1, 7, 7), 14: torch.randn(2, 1, 14, 14), 28: torch.randn(2, 1, 28, 28)}
    text = torch.tensor([[1, 2]] * 2)
    shapes = [D(x[s], text).shape for D, s in zip(built.D, (7, 14, 28), strict=True)]
    assert shapes == [torch.Size([2])] * 3
    with pytest.raises(GanforgeError, match="pyramid of 1 to 3 levels"):
        METHODS.get("stackgan++")(tiny_config("stackgan++", tmp_path / "4", stages=4,
                                              dataset="captioned-digits", image_size=28), SPEC)
