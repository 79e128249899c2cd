"""The InfoGAN networks for MNIST (Chen et al. 2016, table 1 of appendix C), generalised to
other sizes the way DCGAN's are.

Beside DCGAN's convolutions they have a dense 1024-unit layer on each side: G starts with
FC 1024 before the FC to the first feature map, and D ends with FC 1024, whose output is the
shared feature that both D's real/fake head and InfoGAN's Q head read. That dense layer is
where the codes become readable, so Q and D share a semantic feature rather than raw
convolution maps.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.models.dcgan import pyramid
from ganforge.nn import dcgan_init


class InfoGANGenerator(nn.Module):
    """z -> FC 1024 - BN - ReLU -> FC (C0, base, base) - BN - ReLU -> stride-2 up-convs -> Tanh.
    With 28-px images and width 64: FC 1024, FC 7x7x128, up-conv 64, up-conv 1, as in the
    paper."""

    def __init__(
        self, z_dim: int = 74, img_channels: int = 1, img_size: int = 28, width: int = 64,
        hidden: int = 1024,
    ) -> None:
        super().__init__()
        base, n = pyramid(img_size)
        ch = width * 2 ** (n - 1)
        self.first = (ch, base, base)
        self.dense = nn.Sequential(
            nn.Linear(z_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(True),
            nn.Linear(hidden, ch * base * base), nn.BatchNorm1d(ch * base * base), nn.ReLU(True),
        )
        layers: list[nn.Module] = []
        for _ in range(n - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, img_channels, 4, 2, 1), nn.Tanh()]
        self.convs = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.convs(self.dense(z).view(-1, *self.first))  # -1: exports keep any batch


class InfoGANDiscriminator(nn.Module):
    """image -> stride-2 convs (LeakyReLU 0.1, BN after the first) -> FC 1024 - BN - LeakyReLU
    = features -> linear head. With 28-px images: conv 64, conv 128, FC 1024, FC 1."""

    def __init__(self, img_channels: int = 1, img_size: int = 28, width: int = 64,
                 hidden: int = 1024) -> None:
        super().__init__()
        base, n = pyramid(img_size)
        layers: list[nn.Module] = [nn.Conv2d(img_channels, width, 4, 2, 1),
                                   nn.LeakyReLU(0.1, True)]
        ch = width
        for _ in range(n - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2),
                       nn.LeakyReLU(0.1, True)]
            ch *= 2
        layers += [nn.Flatten(), nn.Linear(ch * base * base, hidden, bias=False),
                   nn.BatchNorm1d(hidden), nn.LeakyReLU(0.1, True)]
        self.body = nn.Sequential(*layers)
        self.feature_dim = hidden
        self.head = nn.Linear(hidden, 1)
        dcgan_init(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)
