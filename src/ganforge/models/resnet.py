"""ResNet generator and discriminator of SN-GAN for CIFAR-10 (Miyato et al. 2018, appendix),
itself the CIFAR-10 ResNet of WGAN-GP (Gulrajani et al. 2017, appendix).

At 32x32 with width=64 these are the paper's networks: G maps z to 4x4x256, three upsampling
residual blocks of 256 channels, then BN-ReLU-conv3x3-tanh; D has an optimised first block
and three residual blocks, all of 128 channels (the first two blocks halve the resolution to
8x8), then ReLU, global sum pooling and a linear layer. Other sizes keep the same shape: G
starts at the ``pyramid`` base (4..7) and doubles up to the image size; D halves down to
twice that base (at least once), then adds the two plain blocks.

The models carry no normalisation of D's weights: a method applies
``ganforge.nn.layers.spectral_norm_all(D)`` for SN-GAN, or a gradient penalty for WGAN-GP
(which forbids batch norm in the critic, and this D has none).

Constructor arguments and defaults match the DCGAN models, so the backbones are
interchangeable.

``attention_at`` inserts a SAGAN self-attention layer (Zhang et al. 2019) after the block
whose output has that resolution, in G and in D alike.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import GanforgeError
from ganforge.models.dcgan import check_attention, pyramid
from ganforge.nn.layers import SelfAttention2d


def _conv(in_ch: int, out_ch: int, kernel: int, gain: float = 1.0) -> nn.Conv2d:
    """Conv with Glorot-uniform init: gain sqrt(2) inside residual branches, 1 on shortcuts,
    as in the SN-GAN reference code."""
    conv = nn.Conv2d(in_ch, out_ch, kernel, 1, kernel // 2)
    nn.init.xavier_uniform_(conv.weight, gain)
    nn.init.zeros_(conv.bias)
    return conv


def _linear(in_features: int, out_features: int) -> nn.Linear:
    linear = nn.Linear(in_features, out_features)
    nn.init.xavier_uniform_(linear.weight)
    nn.init.zeros_(linear.bias)
    return linear


def _sizes(img_size: int) -> tuple[int, int]:
    try:
        return pyramid(img_size)
    except GanforgeError:
        raise GanforgeError(
            f"the ResNet models need an image size of 4..7 times a power of two (e.g. 16, 28, "
            f"32, 64), got {img_size}; pass --image-size"
        ) from None


class UpBlock(nn.Module):
    """Generator block: BN-ReLU-up2-conv3x3-BN-ReLU-conv3x3, plus up2-conv1x1 shortcut."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(in_ch), nn.BatchNorm2d(out_ch)
        self.conv1 = _conv(in_ch, out_ch, 3, math.sqrt(2))
        self.conv2 = _conv(out_ch, out_ch, 3, math.sqrt(2))
        self.shortcut = _conv(in_ch, out_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h))))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class DownBlock(nn.Module):
    """Discriminator block: ReLU-conv3x3-ReLU-conv3x3 (-avgpool2), plus a conv1x1 (-avgpool2)
    shortcut where the shape changes and the identity where it does not.

    The optimised first block (``first=True``) reads the image: no ReLU before its first conv
    (it would clip the image), and the shortcut pools before its 1x1 conv.
    """

    def __init__(self, in_ch: int, out_ch: int, downsample: bool, first: bool = False) -> None:
        super().__init__()
        self.downsample, self.first = downsample, first
        self.conv1 = _conv(in_ch, out_ch, 3, math.sqrt(2))
        self.conv2 = _conv(out_ch, out_ch, 3, math.sqrt(2))
        learnable = first or downsample or in_ch != out_ch
        self.shortcut = _conv(in_ch, out_ch, 1) if learnable else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x if self.first else F.relu(x))
        h = self.conv2(F.relu(h))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        if self.shortcut is None:
            return h + x
        if self.first:
            return h + self.shortcut(F.avg_pool2d(x, 2))
        s = self.shortcut(x)
        return h + (F.avg_pool2d(s, 2) if self.downsample else s)


class ResNetGenerator(nn.Module):
    """z -> linear -> (4*width, base, base) -> n upsampling blocks -> BN-ReLU-conv3x3-tanh."""

    def __init__(
        self,
        z_dim: int = 100,
        img_channels: int = 1,
        img_size: int = 28,
        width: int = 64,
        attention_at: int | None = None,
    ) -> None:
        super().__init__()
        base, n = _sizes(img_size)
        ch = 4 * width
        self.base, self.ch = base, ch
        self.linear = _linear(z_dim, ch * base * base)
        blocks: list[nn.Module] = []
        resolutions = []
        size = base
        for _ in range(n):
            blocks.append(UpBlock(ch, ch))
            size *= 2
            resolutions.append(size)
            if size == attention_at:
                blocks.append(SelfAttention2d(ch))
        check_attention("ResNetGenerator", attention_at, resolutions)
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.Sequential(
            nn.BatchNorm2d(ch), nn.ReLU(), _conv(ch, img_channels, 3), nn.Tanh()
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.linear(z).view(len(z), self.ch, self.base, self.base)
        return self.out(self.blocks(h))


class ResNetDiscriminator(nn.Module):
    """image -> optimised down block -> down blocks to 2*base -> two plain blocks -> ReLU ->
    global sum pool -> linear; ``features`` are the pooled [N, feature_dim = 2*width]
    activations."""

    def __init__(
        self,
        img_channels: int = 1,
        img_size: int = 28,
        width: int = 64,
        attention_at: int | None = None,
    ) -> None:
        super().__init__()
        _, n = _sizes(img_size)
        ch = 2 * width
        downs = max(n - 1, 1)
        plan = [(True, True)] + [(True, False)] * (downs - 1) + [(False, False)] * 2
        blocks: list[nn.Module] = []
        resolutions = []
        size, in_ch = img_size, img_channels
        for downsample, first in plan:
            blocks.append(DownBlock(in_ch, ch, downsample, first))
            in_ch = ch
            if downsample:
                size //= 2
                resolutions.append(size)
                if size == attention_at:
                    blocks.append(SelfAttention2d(ch))
        check_attention("ResNetDiscriminator", attention_at, resolutions)
        self.body = nn.Sequential(*blocks)
        self.feature_dim = ch
        self.head = _linear(ch, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x)).sum((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)
