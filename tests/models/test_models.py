import pytest
import torch

from ganforge.errors import GanforgeError
from ganforge.models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from ganforge.models.dcgan import pyramid


@pytest.mark.parametrize("size,channels", [(16, 1), (28, 1), (32, 3), (64, 3)])
def test_dcgan_shapes(size, channels):
    G = DCGANGenerator(z_dim=10, img_channels=channels, img_size=size, width=8)
    D = DCGANDiscriminator(img_channels=channels, img_size=size, width=8)
    x = G(torch.randn(5, 10))
    assert x.shape == (5, channels, size, size) and x.abs().max() <= 1
    assert D(x).shape == (5,) and D.features(x).shape[0] == 5


def test_dcgan_is_all_convolutional():
    G, D = DCGANGenerator(img_size=64), DCGANDiscriminator(img_size=64)
    hidden = [m for m in [*G.modules(), *D.body.modules()]]
    layers = [type(m) for m in hidden]
    assert torch.nn.Linear not in layers and torch.nn.MaxPool2d not in layers
    assert torch.nn.BatchNorm2d in layers
    # The head is the paper's final conv over the whole 4x4 map, as a linear layer on it.
    conv = torch.nn.Conv2d(D.feature_dim // 16, 1, 4)
    conv.weight.data = D.head.weight.data.view_as(conv.weight)
    conv.bias.data = D.head.bias.data
    x = torch.randn(3, 1, 64, 64)
    torch.testing.assert_close(conv(D.body(x)).flatten(), D(x))


def test_dcgan_rejects_sizes_without_a_pyramid():
    assert pyramid(28) == (7, 2) and pyramid(64) == (4, 4)
    with pytest.raises(GanforgeError, match="--image-size"):
        DCGANGenerator(img_size=30)


def test_mlp_matches_the_seed_architecture():
    G = MLPGenerator(z_dim=100, img_channels=1, img_size=28)
    widths = [m.out_features for m in G.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [128, 256, 512, 1024, 784]
    D = MLPDiscriminator(img_channels=1, img_size=28)
    widths = [m.out_features for m in D.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [512, 256, 1]
    G.eval()
    assert G(torch.randn(3, 100)).shape == (3, 1, 28, 28)
    assert D(torch.randn(3, 1, 28, 28)).shape == (3,)
