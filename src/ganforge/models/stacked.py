"""SGAN's generator stack (Huang et al. 2017, "Stacked Generative Adversarial Networks"):
G1 turns a class and noise z1 into mid-level features h1, G0 turns h1 and noise z0 into an
image. The levels are those of a pretrained encoder read top-down: image -> E0 -> h1 (its
penultimate features) -> E1 -> class."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FeatureGenerator(nn.Module):
    """(one-hot class, z1) -> h1: two 256-unit layers with batch norm and ReLU, and a ReLU
    output, as the encoder's features are ReLU outputs (non-negative, sparse)."""

    def __init__(self, num_classes: int, z_dim: int, feature_dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.net = nn.Sequential(
            nn.Linear(num_classes + z_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
            nn.Linear(hidden, feature_dim), nn.ReLU())

    def forward(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([F.one_hot(y, self.num_classes).to(z.dtype), z], 1))


class StackedGenerator(nn.Module):
    """G(z, y) with z = [z1, z0]: ``levels`` gives h1 = G1(y, z1) and x = G0([h1, z0]);
    ``forward`` the image. G0 is any backbone generator of z0_dim + feature_dim inputs."""

    def __init__(self, top: FeatureGenerator, bottom: nn.Module, z1_dim: int) -> None:
        super().__init__()
        self.top, self.bottom, self.z1_dim = top, bottom, z1_dim

    def split(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return z.split([self.z1_dim, z.shape[1] - self.z1_dim], 1)

    def render(self, h1: torch.Tensor, z0: torch.Tensor) -> torch.Tensor:
        return self.bottom(torch.cat([h1, z0], 1))

    def levels(self, z: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z1, z0 = self.split(z)
        h1 = self.top(y, z1)
        return h1, self.render(h1, z0)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.levels(z, y)[1]
