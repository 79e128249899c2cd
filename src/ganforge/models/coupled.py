"""CoGAN's coupled networks (Liu & Tuzel 2016): two generators that share their first layers
and two discriminators that share their last, built from DCGAN's.

The shared layers are one module, not two copies kept equal: their weights get the gradients of
both domains, which is what ties the two generated images to the same content (sec. 3)."""

from __future__ import annotations

import torch
from torch import nn

from ganforge.models.dcgan import DCGANDiscriminator, DCGANGenerator


class CoupledGenerator(nn.Module):
    """z -> shared DCGAN layers -> one last up-convolution (and tanh) per domain."""

    def __init__(self, z_dim: int, channels: tuple[int, int], img_size: int, width: int) -> None:
        super().__init__()
        nets = [DCGANGenerator(z_dim, c, img_size, width).net for c in channels]
        self.shared = nets[0][:-2]
        self.heads = nn.ModuleList(net[-2:] for net in nets)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.shared(z[:, :, None, None])
        return self.heads[0](h), self.heads[1](h)


class CoupledDiscriminator(nn.Module):
    """One first convolution per domain -> shared DCGAN layers -> one logit."""

    def __init__(self, channels: tuple[int, int], img_size: int, width: int) -> None:
        super().__init__()
        nets = [DCGANDiscriminator(c, img_size, width) for c in channels]
        self.stems = nn.ModuleList(net.body[:2] for net in nets)
        self.shared = nets[0].body[2:]
        self.head = nets[0].head

    def forward(self, x: torch.Tensor, domain: int) -> torch.Tensor:
        return self.head(self.shared(self.stems[domain](x)).flatten(1)).squeeze(1)
