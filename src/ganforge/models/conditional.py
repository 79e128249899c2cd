"""Conditioning wrappers: any backbone G or D of ``ARCHITECTURES`` made conditional.

Mirza & Osindero 2014 feed the condition y to both networks by concatenation; Miyato & Koyama
2018 add it to D by projection instead, an inner product of a class embedding with D's
features. Both wrap an unconditional backbone, so every backbone gains conditioning at once.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import GanforgeError
from ganforge.nn.layers import LabelPlane


class ConditionedGenerator(nn.Module):
    """G(z, c) = backbone([z, encode(c)]): the backbone is built for latent_dim + code width.

    ``encoder`` turns the condition into a vector: an embedding of class labels (cGAN, ACGAN) or
    nothing at all when the condition already is one (InfoGAN's codes).
    """

    def __init__(self, backbone: nn.Module, encoder: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.encoder = encoder if encoder is not None else nn.Identity()

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.backbone(torch.cat([z, self.encoder(c)], dim=1))


class ConcatDiscriminator(nn.Module):
    """D(x, y) with the label embedded as one extra image plane, the convolutional form of
    concatenating y to D's input; the backbone is built with ``img_channels + 1``."""

    treats_rows_alone = True  # see ganforge.nn.rows

    def __init__(self, backbone: nn.Module, num_classes: int, img_size: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.embed = LabelPlane(num_classes, img_size)
        self.feature_dim = backbone.feature_dim

    def features(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.backbone.features(torch.cat([x, self.embed.plane(y, x)], dim=1))

    def logits(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.backbone.head(h).squeeze(1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.logits(self.features(x, y), y)


class ProjectionDiscriminator(nn.Module):
    """D(x, y) = head(phi(x)) + <embed(y), phi(x)> (Miyato & Koyama 2018, eq. 3)."""

    treats_rows_alone = True  # see ganforge.nn.rows

    def __init__(self, backbone: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.feature_dim = backbone.feature_dim
        self.embed = nn.Embedding(num_classes, self.feature_dim)
        nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def features(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.backbone.features(x)

    def logits(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.backbone.head(h).squeeze(1) + (self.embed(y) * h).sum(dim=1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.logits(self.features(x, y), y)


class TwoHeadDiscriminator(nn.Module):
    """The conditional D of two networks on one trunk (the lecture notes of seed 000): the
    realism head reads phi(x) alone, the match head reads phi(x) beside the label and scores
    whether x shows class y. ``logits`` is the realism score; ``match`` the other."""

    def __init__(self, backbone: nn.Module, num_classes: int, hidden: int = 256) -> None:
        super().__init__()
        self.backbone = backbone
        self.num_classes = num_classes
        self.feature_dim = backbone.feature_dim
        # The match score is bilinear in (x's code, y's embedding): an MLP over their
        # concatenation must first learn the product of the two itself, and on digits it did
        # not within hundreds of steps.
        self.match_head = nn.Sequential(nn.Linear(self.feature_dim, hidden),
                                        nn.LeakyReLU(0.2, True))
        self.match_embed = nn.Embedding(num_classes, hidden)
        self.match_bias = nn.Embedding(num_classes, 1)
        nn.init.normal_(self.match_embed.weight, 0.0, 0.02)
        nn.init.zeros_(self.match_bias.weight)

    def features(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.backbone.features(x)

    def logits(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.backbone.head(h).squeeze(1)

    def match(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        code = self.match_head(h)
        return (code * self.match_embed(y)).sum(1) + self.match_bias(y).squeeze(1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.logits(self.features(x, y), y)


def check_labels(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Class indices as int64 on their device; out-of-range ones are a user error, not an
    index error deep inside an embedding."""
    y = torch.as_tensor(y)
    if y.dtype.is_floating_point or y.dtype == torch.bool:
        raise GanforgeError(f"class labels must be integers, got {y.dtype}")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        bad = int(y.min()) if int(y.min()) < 0 else int(y.max())
        raise GanforgeError(f"class {bad} does not exist: this model has {num_classes} classes, "
                            f"0 to {num_classes - 1}")
    return y.long()
