"""The MNIST networks of Salimans et al. 2016 (Improved GAN), semi-supervised experiments.

After the released code (openai/improved-gan, ``train_mnist_feature_matching.py``):

- G: z -> 500 -> 500 (batch norm without gain, softplus) -> 784, weight-normalised output
  layer; tanh here, where the paper has a sigmoid, because ganforge's images live in [-1, 1].
- D: Gaussian noise on the input (std 0.3 on the paper's [0, 1] pixels, so 0.6 on ganforge's
  [-1, 1]), then weight-normalised ReLU layers of 1000, 500, 250, 250, 250 units, each followed
  by Gaussian noise (std 0.5), then a weight-normalised linear head. The hidden layers' gains
  are fixed after the data-dependent init (``train_scale=False`` in the released code): only the
  weights' directions and the biases learn, so no layer can outgrow its noise. The noise is D's
  only regulariser and is off in eval mode.

``features(x)`` is the last hidden layer (250 units), the layer the paper's feature-matching
generator matches.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm


class GaussianNoise(nn.Module):
    """Adds N(0, std^2) noise in training mode; the identity in eval mode."""

    def __init__(self, std: float) -> None:
        super().__init__()
        self.std = std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.std * torch.randn_like(x) if self.training else x

    def extra_repr(self) -> str:
        return f"std={self.std}"


def weight_normed_linear(in_features: int, out_features: int) -> nn.Linear:
    """A weight-normalised linear layer whose direction starts from N(0, 0.1) entries, as in the
    released code. The scale matters under Adam, which moves every entry by about the learning
    rate whatever its size: from PyTorch's default init (entries ~1/sqrt(3 fan_in), 5x smaller)
    each step would turn the weight vectors 5x further."""
    layer = nn.Linear(in_features, out_features)
    nn.init.normal_(layer.weight, 0.0, 0.1)
    nn.init.zeros_(layer.bias)
    return weight_norm(layer)


class ImprovedGANGenerator(nn.Module):
    """As the released code builds it: Glorot-uniform weights and zero biases (Lasagne's
    defaults); batch norm with a bias but no gain (``nn.batch_norm(..., g=None)``, the gain here
    frozen at 1); a weight-normalised output layer whose scale starts at 1 in the paper's sigmoid
    units, i.e. 0.5 before ganforge's tanh (tanh(a / 2) = 2 sigmoid(a) - 1)."""

    def __init__(self, z_dim: int = 100, img_channels: int = 1, img_size: int = 28,
                 width: int = 500) -> None:
        super().__init__()
        self.img_shape = (img_channels, img_size, img_size)
        hidden = [nn.Linear(z_dim, width), nn.Linear(width, width)]
        out = nn.Linear(width, math.prod(self.img_shape))
        for layer in (*hidden, out):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
        norms = [nn.BatchNorm1d(width, eps=1e-6) for _ in hidden]
        for norm in norms:
            norm.weight.requires_grad_(False)
        out = weight_norm(out)
        with torch.no_grad():
            out.parametrizations.weight.original0.fill_(0.5)
        self.net = nn.Sequential(
            hidden[0], norms[0], nn.Softplus(),
            hidden[1], norms[1], nn.Softplus(),
            out, nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(len(z), *self.img_shape)


class ImprovedGANDiscriminator(nn.Module):
    def __init__(self, img_channels: int = 1, img_size: int = 28,
                 hidden: tuple[int, ...] = (1000, 500, 250, 250, 250), input_noise: float = 0.6,
                 hidden_noise: float = 0.5) -> None:
        super().__init__()
        layers: list[nn.Module] = [GaussianNoise(input_noise)]
        width = img_channels * img_size * img_size
        for i, h in enumerate(hidden):
            if i > 0:
                layers.append(GaussianNoise(hidden_noise))
            layer = weight_normed_linear(width, h)
            layer.parametrizations.weight.original0.requires_grad_(False)
            layers += [layer, nn.ReLU(inplace=True)]
            width = h
        self.body = nn.Sequential(*layers)
        self.feature_dim = width
        # The noise after the last hidden layer belongs to the head, so that features() is the
        # clean layer that feature matching compares.
        self.head = nn.Sequential(GaussianNoise(hidden_noise), weight_normed_linear(width, 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)
