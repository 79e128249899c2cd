"""DCGAN (Radford et al. 2016): all-convolutional G and D with batch norm, no pooling, no dense
hidden layers; strided transposed convolutions in G, strided convolutions in D."""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import GanforgeError
from ganforge.nn import dcgan_init
from ganforge.nn.layers import SelfAttention2d


def pyramid(img_size: int) -> tuple[int, int]:
    """(base, n): img_size = base * 2**n with base in 4..7, so 28 -> (7, 2), 32 -> (4, 3)."""
    n = 0
    size = img_size
    while size > 7 and size % 2 == 0:
        size //= 2
        n += 1
    if not 4 <= size <= 7 or n == 0:
        raise GanforgeError(
            f"DCGAN needs an image size of 4..7 times a power of two (e.g. 16, 28, 32, 64), "
            f"got {img_size}; pass --image-size"
        )
    return size, n


def check_attention(model: str, attention_at: int | None, sizes: list[int]) -> None:
    """Self-attention can only go at a resolution the network has a feature map of."""
    if attention_at is not None and attention_at not in sizes:
        raise GanforgeError(f"{model} has no {attention_at}x{attention_at} feature map for "
                            f"self-attention (--attention, attention_at); choose one of "
                            f"{sorted(set(sizes))}")


class DCGANGenerator(nn.Module):
    """z -> (width*2^(n-1), base, base) -> ... doubling resolution, halving channels -> image."""

    def __init__(
        self, z_dim: int = 100, img_channels: int = 1, img_size: int = 28, width: int = 64,
        attention_at: int | None = None,
    ) -> None:
        super().__init__()
        base, n = pyramid(img_size)
        ch = width * 2 ** (n - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, ch, base, 1, 0, bias=False),
            nn.BatchNorm2d(ch),
            nn.ReLU(True),
        ]
        size, sizes = base, [base]
        for _ in range(n - 1):
            if size == attention_at:
                layers.append(SelfAttention2d(ch))
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ch // 2),
                nn.ReLU(True),
            ]
            ch //= 2
            size *= 2
            sizes.append(size)
        if size == attention_at:
            layers.append(SelfAttention2d(ch))
        check_attention("DCGANGenerator", attention_at, sizes)
        layers += [nn.ConvTranspose2d(ch, img_channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


class FlatFeatureDiscriminator(nn.Module):
    """A D read in two halves: ``body`` to flat features (``feature_dim`` wide), then the
    linear ``head`` to the logit; subclasses build the three."""

    body: nn.Module
    head: nn.Module
    feature_dim: int

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)


class DCGANDiscriminator(FlatFeatureDiscriminator):
    """image -> strided convs (LeakyReLU 0.2, batch norm after the first) -> base x base -> logit.
    """

    def __init__(self, img_channels: int = 1, img_size: int = 28, width: int = 64,
                 attention_at: int | None = None) -> None:
        super().__init__()
        base, n = pyramid(img_size)
        layers: list[nn.Module] = [
            nn.Conv2d(img_channels, width, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
        ]
        ch, size = width, img_size // 2
        sizes = [size]
        for _ in range(n - 1):
            if size == attention_at:
                layers.append(SelfAttention2d(ch))
            layers += [
                nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ch * 2),
                nn.LeakyReLU(0.2, True),
            ]
            ch *= 2
            size //= 2
            sizes.append(size)
        check_attention("DCGANDiscriminator", attention_at, sizes[:-1])
        self.body = nn.Sequential(*layers)
        # The paper's final conv over the whole base x base map is this linear layer over the
        # flattened map; as a linear head it also serves aux heads, projection and minibatch
        # discrimination, which all work on the flat features.
        self.feature_dim = ch * base * base
        self.head = nn.Linear(self.feature_dim, 1)
        dcgan_init(self)
