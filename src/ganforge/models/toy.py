"""Small fully connected networks for 2-D point data (the mode-collapse lab's mixtures).

The sizes follow the toy experiments of Unrolled GAN (Metz et al. 2017, appendix A) and VEEGAN:
a few ReLU layers of ``width`` units (128 by default for the toy data sets), a linear output
for G so points can land anywhere on the plane, and one raw logit for D.
"""

from __future__ import annotations

import torch
from torch import nn


def _relu_stack(width_in: int, width: int, depth: int) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(width_in, width), nn.ReLU(inplace=True)]
        width_in = width
    return layers


class PointGenerator(nn.Module):
    """z -> ``depth`` x (Linear(width), ReLU) -> Linear(point_dim)."""

    def __init__(self, z_dim: int, point_dim: int = 2, width: int = 128, depth: int = 3) -> None:
        super().__init__()
        self.net = nn.Sequential(*_relu_stack(z_dim, width, depth), nn.Linear(width, point_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class PointDiscriminator(nn.Module):
    """point -> ``depth`` x (Linear(width), ReLU) features -> Linear(1) logit."""

    def __init__(self, point_dim: int = 2, width: int = 128, depth: int = 2) -> None:
        super().__init__()
        self.body = nn.Sequential(*_relu_stack(point_dim, width, depth))
        self.feature_dim = width
        self.head = nn.Linear(width, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)
