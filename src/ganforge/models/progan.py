"""The networks of progressive growing (Karras et al. 2018, table 2): a generator and a
discriminator that hold every resolution block from the start and are run up to a ``level``,
with ``alpha`` fading the newest block in (fig. 2).

Level 0 is the start resolution (4x4 for 32 px, 7x7 for 28 px, see :func:`resolutions`); each
level doubles it. Both networks take ``level`` and ``alpha`` as arguments rather than keeping
them, so a copy of G (the EMA) samples at whatever phase it is asked for.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import GanforgeError
from ganforge.nn.progressive import (
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStdDev,
    PixelNorm,
    fade_in,
    leaky_relu,
)
from ganforge.nn.pyramid import pyramid_sizes


def resolutions(img_size: int) -> list[int]:
    """The resolutions grown through: the start halves ``img_size`` while it is even and the
    half is at least 4; each level doubles it: 32 -> [4, 8, 16, 32], 28 -> [7, 14, 28],
    6 -> [6]."""
    if img_size < 4:
        raise GanforgeError(f"progressive growing needs images of at least 4 px, got {img_size}")
    return pyramid_sizes(img_size)[::-1]


def channels(res: int, width: int) -> int:
    """Feature maps at ``res``: ``8 * width`` at low resolutions, halving with every doubling
    of the resolution above 8 px (at least 8). The paper (table 2) keeps 512 up to 32 px and
    halves above; the earlier knee keeps MNIST-sized nets fast on a CPU."""
    return max(8, min(8 * width, 64 * width // res))


class ProGenerator(nn.Module):
    """Table 2, left: z (pixel-normalised) -> dense to s x s -> 3x3 conv; each later block
    nearest-upsamples x2 and applies two 3x3 convs; leaky ReLU 0.2 and pixel norm after every
    conv; a linear 1x1 toRGB per level.

    The output is linear, as in the paper: a tanh would saturate where the critic pushes the
    pixels of MNIST's flat black background, and ganforge clamps to [-1, 1] only when it turns
    samples into pictures (``to_uint8``, ``Model.sample``).
    """

    def __init__(self, z_dim: int, img_channels: int, img_size: int, width: int) -> None:
        super().__init__()
        self.sizes = resolutions(img_size)
        self.img_size = img_size
        s, c0 = self.sizes[0], channels(self.sizes[0], width)
        self.start_channels = c0
        self.norm = PixelNorm()
        # The official code gives this dense layer gain sqrt(2)/4 (it acts as a 4x4 transposed
        # convolution of the 1x1 latent); pixel norm follows, so it sets only its learning rate.
        self.dense = EqualizedLinear(z_dim, c0 * s * s, gain=math.sqrt(2) / 4)
        self.start_conv = EqualizedConv2d(c0, c0, 3)
        self.blocks = nn.ModuleList([nn.Identity()])  # level 0 is dense + start_conv
        for prev, res in zip(self.sizes, self.sizes[1:], strict=False):
            c_in, c = channels(prev, width), channels(res, width)
            self.blocks.append(nn.ModuleList([EqualizedConv2d(c_in, c, 3),
                                              EqualizedConv2d(c, c, 3)]))
        self.to_rgb = nn.ModuleList([EqualizedConv2d(channels(r, width), img_channels, 1, gain=1)
                                     for r in self.sizes])

    @property
    def levels(self) -> int:
        return len(self.sizes)

    def _act(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(leaky_relu(x))

    def forward(self, z: torch.Tensor, level: int | None = None, alpha: float = 1.0
                ) -> torch.Tensor:
        """Images [N, C, r, r] at resolution ``r = sizes[level]`` (the last level if None);
        for ``alpha < 1`` the newest block fades in over the previous level's upsampled
        toRGB."""
        level = self.levels - 1 if level is None else level
        s = self.sizes[0]
        h = self._act(self.dense(self.norm(z)).view(len(z), self.start_channels, s, s))
        h = self._act(self.start_conv(h))
        prev = h
        for block in self.blocks[1 : level + 1]:
            prev = h
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            for conv in block:
                h = self._act(conv(h))
        out = self.to_rgb[level](h)
        if level > 0 and alpha < 1:
            low = F.interpolate(self.to_rgb[level - 1](prev), scale_factor=2, mode="nearest")
            out = fade_in(alpha, low, out)
        return out


class ProDiscriminator(nn.Module):
    """Table 2, right, the generator's mirror: a fromRGB 1x1 conv per level; each block two 3x3
    convs and a 2x2 average pool; the last block the minibatch standard deviation, a 3x3 conv
    and a dense layer over the s x s map (the paper's 4x4 conv), then ``head`` to one logit.

    The ganforge discriminator shape: ``features(x, level, alpha)`` gives flat features
    [N, feature_dim], ``head`` the logit, ``forward = head(features).squeeze(1)``. ``x`` is at
    the level's resolution; for ``alpha < 1`` the new block's output fades in over
    fromRGB(avgpool(x)) of the previous level.
    """

    def __init__(self, img_channels: int, img_size: int, width: int) -> None:
        super().__init__()
        self.sizes = resolutions(img_size)
        s, c0 = self.sizes[0], channels(self.sizes[0], width)
        self.from_rgb = nn.ModuleList([EqualizedConv2d(img_channels, channels(r, width), 1)
                                       for r in self.sizes])
        self.blocks = nn.ModuleList([nn.Identity()])  # level 0 is the final block below
        for prev, res in zip(self.sizes, self.sizes[1:], strict=False):
            c, c_out = channels(res, width), channels(prev, width)
            self.blocks.append(nn.ModuleList([EqualizedConv2d(c, c, 3),
                                              EqualizedConv2d(c, c_out, 3)]))
        self.stddev = MinibatchStdDev(group_size=4)
        self.final_conv = EqualizedConv2d(c0 + 1, c0, 3)
        self.final_dense = EqualizedLinear(c0 * s * s, c0)
        self.feature_dim = c0
        self.head = EqualizedLinear(c0, 1, gain=1)

    @property
    def levels(self) -> int:
        return len(self.sizes)

    def _block(self, level: int, h: torch.Tensor) -> torch.Tensor:
        for conv in self.blocks[level]:
            h = leaky_relu(conv(h))
        return F.avg_pool2d(h, 2)

    def features(self, x: torch.Tensor, level: int | None = None, alpha: float = 1.0
                 ) -> torch.Tensor:
        level = self.levels - 1 if level is None else level
        if x.shape[-1] != self.sizes[level]:
            raise GanforgeError(f"the level-{level} discriminator takes {self.sizes[level]} px "
                                f"images, got {x.shape[-1]} px")
        h = leaky_relu(self.from_rgb[level](x))
        if level > 0:
            h = self._block(level, h)
            if alpha < 1:
                low = leaky_relu(self.from_rgb[level - 1](F.avg_pool2d(x, 2)))
                h = fade_in(alpha, low, h)
        for lower in range(level - 1, 0, -1):
            h = self._block(lower, h)
        h = leaky_relu(self.final_conv(self.stddev(h)))
        return leaky_relu(self.final_dense(h.flatten(1)))

    def forward(self, x: torch.Tensor, level: int | None = None, alpha: float = 1.0
                ) -> torch.Tensor:
        return self.head(self.features(x, level, alpha)).squeeze(1)
