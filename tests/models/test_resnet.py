import pytest
import torch

from ganforge.errors import GanforgeError
from ganforge.models.resnet import ResNetDiscriminator, ResNetGenerator
from ganforge.nn.layers import SelfAttention2d, spectral_norm_all


@pytest.mark.parametrize("size,channels", [(16, 1), (28, 1), (32, 3)])
def test_resnet_shapes(size, channels):
    G = ResNetGenerator(z_dim=10, img_channels=channels, img_size=size, width=4)
    D = ResNetDiscriminator(img_channels=channels, img_size=size, width=4)
    x = G(torch.randn(3, 10))
    assert x.shape == (3, channels, size, size) and x.abs().max() <= 1
    assert D(x).shape == (3,) and D.features(x).shape == (3, D.feature_dim) and D.feature_dim == 8
    assert torch.allclose(D.head(D.features(x)).squeeze(1), D(x))


def test_resnet_is_sngan_at_32():
    G = ResNetGenerator(z_dim=128, img_channels=3, img_size=32, width=64)
    D = ResNetDiscriminator(img_channels=3, img_size=32, width=64)
    assert G.linear.out_features == 4 * 4 * 256 and len(G.blocks) == 3
    assert len(D.body) == 4 and D.head.in_features == 128
    assert [b.downsample for b in D.body] == [True, True, False, False]
    h = torch.randn(1, 3, 32, 32)
    for block in D.body:
        h = block(h)
    assert h.shape == (1, 128, 8, 8)


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    G = ResNetGenerator(z_dim=8, img_channels=3, img_size=16, width=4, attention_at=8)
    D = ResNetDiscriminator(img_channels=3, img_size=16, width=4, attention_at=8)
    with torch.no_grad():  # let attention contribute so its convs get gradients too
        for m in [*G.modules(), *D.modules()]:
            if isinstance(m, SelfAttention2d):
                m.gamma.fill_(0.5)
    D(G(torch.randn(4, 8))).mean().backward()
    for name, p in [*G.named_parameters(), *D.named_parameters()]:
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_attention_goes_where_asked():
    G = ResNetGenerator(z_dim=8, img_channels=3, img_size=32, width=4, attention_at=16)
    D = ResNetDiscriminator(img_channels=3, img_size=32, width=4, attention_at=16)
    assert [type(m).__name__ for m in G.blocks] == [
        "UpBlock",
        "UpBlock",
        "SelfAttention2d",
        "UpBlock",
    ]
    assert isinstance(D.body[1], SelfAttention2d)
    assert D(G(torch.randn(2, 8))).shape == (2,)
    with pytest.raises(GanforgeError, match=r"\[8, 16\]"):
        ResNetDiscriminator(img_channels=3, img_size=32, width=4, attention_at=32)
    with pytest.raises(GanforgeError, match="attention_at"):
        ResNetGenerator(z_dim=8, img_channels=3, img_size=32, width=4, attention_at=4)


def test_resnet_rejects_sizes_without_a_pyramid():
    with pytest.raises(GanforgeError, match="ResNet.*--image-size"):
        ResNetGenerator(img_size=30)
    with pytest.raises(GanforgeError, match="ResNet"):
        ResNetDiscriminator(img_size=30)


def test_spectral_norm_applies_to_the_discriminator():
    D = spectral_norm_all(ResNetDiscriminator(img_channels=1, img_size=16, width=4))
    assert D(torch.randn(2, 1, 16, 16)).shape == (2,)
