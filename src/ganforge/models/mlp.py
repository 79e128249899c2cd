"""The multilayer perceptrons of the original GAN (Goodfellow et al. 2014)."""

from __future__ import annotations

import math

import torch
from torch import nn


class MLPGenerator(nn.Module):
    """z -> 128 -> 256 -> 512 -> 1024 -> C*H*W, LeakyReLU(0.2), batch norm after all but the
    first hidden layer, Tanh output: the reference MLP of seed 001 (PyTorch-GAN's gan.py)."""

    def __init__(
        self, z_dim: int = 100, img_channels: int = 1, img_size: int = 28,
        hidden: tuple[int, ...] = (128, 256, 512, 1024),
    ) -> None:
        super().__init__()
        self.img_shape = (img_channels, img_size, img_size)
        layers: list[nn.Module] = []
        width = z_dim
        for i, h in enumerate(hidden):
            layers.append(nn.Linear(width, h))
            if i > 0:
                layers.append(nn.BatchNorm1d(h))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            width = h
        layers += [nn.Linear(width, math.prod(self.img_shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, *self.img_shape)  # -1: a traced export keeps any batch


class MLPDiscriminator(nn.Module):
    """C*H*W -> 512 -> 256 -> 1 with LeakyReLU(0.2); returns the raw logit of "real"."""

    treats_rows_alone = True  # see ganforge.nn.rows

    def __init__(
        self, img_channels: int = 1, img_size: int = 28, hidden: tuple[int, ...] = (512, 256)
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = img_channels * img_size * img_size
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2, inplace=True)]
            width = h
        self.body = nn.Sequential(*layers)
        self.feature_dim = width
        self.head = nn.Linear(width, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)
