"""The layers of progressive growing (Karras et al. 2018, "Progressive Growing of GANs"): the
equalised learning rate, pixelwise feature normalisation, the minibatch standard deviation and
the fade-in of a new resolution."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LEAKY_SLOPE = 0.2


class EqualizedConv2d(nn.Module):
    """A convolution with the equalised learning rate (sec. 4.1): weights are stored as
    N(0, 1) and multiplied at run time by He's constant ``gain / sqrt(fan_in)``, so Adam's
    scale-free updates move every layer's effective weights at the same relative speed.
    Biases start at 0. ``padding`` keeps the size ("same") for odd kernels."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 gain: float = math.sqrt(2), bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size,
                                               kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = gain / math.sqrt(in_channels * kernel_size * kernel_size)
        self.padding = kernel_size // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        out, inp, k, _ = self.weight.shape
        return f"{inp}, {out}, kernel_size={k}, scale={self.scale:.4g}"


class EqualizedLinear(nn.Module):
    """A dense layer with the equalised learning rate: N(0, 1) weights scaled at run time by
    ``gain / sqrt(in_features)`` (sec. 4.1)."""

    def __init__(self, in_features: int, out_features: int, gain: float = math.sqrt(2),
                 bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.scale = gain / math.sqrt(in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)

    def extra_repr(self) -> str:
        out, inp = self.weight.shape
        return f"{inp}, {out}, scale={self.scale:.4g}"


class PixelNorm(nn.Module):
    """Pixelwise feature vector normalisation (sec. 4.2, eq. 4 with epsilon 1e-8): each pixel's
    feature vector divided by its root mean square over the channels (dimension 1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


def group_size_for(batch: int, group_size: int) -> int:
    """The largest divisor of ``batch`` that is at most ``group_size``."""
    return next(g for g in range(min(group_size, batch), 0, -1) if batch % g == 0)


class MinibatchStdDev(nn.Module):
    """Minibatch standard deviation (sec. 3), as in the paper's official code: split the batch
    into groups of ``group_size`` (example i in group i mod N/G), take each feature's standard
    deviation over its group, average it over channels and pixels, and append that one number
    as an extra constant feature map. Batches not divisible by ``group_size`` use the largest
    divisor below it.

    Note it makes D's output for one example depend on the others of its group, as the paper's
    D does; the gradient penalty is then taken on that D, also as in the paper's code."""

    def __init__(self, group_size: int = 4) -> None:
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = group_size_for(n, self.group_size)
        y = x.reshape(g, n // g, c, h, w)
        y = y - y.mean(dim=0, keepdim=True)
        y = (y.pow(2).mean(dim=0) + 1e-8).sqrt()  # [M, C, H, W]: std over each group
        y = y.mean(dim=(1, 2, 3), keepdim=True)  # [M, 1, 1, 1]
        y = y.repeat(g, 1, h, w)  # example i takes the value of group i mod M
        return torch.cat([x, y], dim=1)


def fade_in(alpha: float, low_res_upsampled: torch.Tensor, high_res: torch.Tensor) -> torch.Tensor:
    """The smooth fade-in of a new resolution (sec. 3, fig. 2): ``alpha * high + (1 - alpha) *
    low``, alpha rising from 0 (the old network, upsampled) to 1 (the new block alone)."""
    return alpha * high_res + (1 - alpha) * low_res_upsampled


def leaky_relu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, LEAKY_SLOPE)
