"""Networks that map images to latent codes, for the methods that learn an inverse of G
(VAE, VAE-GAN, BiGAN/ALI)."""

from __future__ import annotations

import torch
from torch import nn


class Encoder(nn.Module):
    """A discriminator backbone's feature layers (its ``head`` dropped) and a linear map to
    ``out_features``: x [N, C, H, W] -> [N, out_features]. Any backbone of ``ARCHITECTURES``
    serves, so an encoder always mirrors the generator it inverts."""

    def __init__(self, backbone: nn.Module, out_features: int) -> None:
        super().__init__()
        del backbone.head
        self.backbone = backbone
        self.head = nn.Linear(backbone.feature_dim, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone.features(x))


class JointDiscriminator(nn.Module):
    """D(x, z) of BiGAN / ALI (Donahue et al. 2017; Dumoulin et al. 2017): image features from a
    backbone and an embedding of z, joined by a hidden layer before the logit."""

    def __init__(self, backbone: nn.Module, z_dim: int, width: int = 512) -> None:
        super().__init__()
        del backbone.head
        self.backbone = backbone
        self.embed_z = nn.Sequential(nn.Linear(z_dim, width), nn.LeakyReLU(0.2, inplace=True),
                                     nn.Linear(width, width), nn.LeakyReLU(0.2, inplace=True))
        self.joint = nn.Sequential(nn.Linear(backbone.feature_dim + width, 2 * width),
                                   nn.LeakyReLU(0.2, inplace=True))
        self.feature_dim = 2 * width
        self.head = nn.Linear(2 * width, 1)

    def features(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.joint(torch.cat([self.backbone.features(x), self.embed_z(z)], dim=1))

    def logits(self, h: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.head(h).squeeze(1)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.logits(self.features(x, z), z)
