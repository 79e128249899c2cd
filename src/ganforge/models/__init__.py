"""Generators and discriminators: plain nn.Modules, forward only, D returns raw logits.

Every discriminator has the same shape: ``features(x)`` gives flat features [N, feature_dim],
``head`` maps them to one logit, and ``forward(x) = head(features(x)).squeeze(1)``, so methods
can hang auxiliary heads (ACGAN's classifier, InfoGAN's Q) on the same features.

``ARCHITECTURES`` maps a backbone name to its (generator, discriminator) builders, each called
with keyword arguments z_dim / img_channels / img_size / width, and says which kind of data it
draws: ``"image"`` or ``"points"`` (where img_channels is the point dimension, img_size 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from ganforge.models.dcgan import DCGANDiscriminator, DCGANGenerator
from ganforge.models.improved_gan import ImprovedGANDiscriminator, ImprovedGANGenerator
from ganforge.models.infogan import InfoGANDiscriminator, InfoGANGenerator
from ganforge.models.mlp import MLPDiscriminator, MLPGenerator
from ganforge.models.resnet import ResNetDiscriminator, ResNetGenerator
from ganforge.models.toy import PointDiscriminator, PointGenerator
from ganforge.registry import Registry


@dataclass(frozen=True)
class Architecture:
    generator: Callable[..., nn.Module]
    discriminator: Callable[..., nn.Module]
    data: str = "image"


def fixed_width(generator: Callable[..., nn.Module],
                discriminator: Callable[..., nn.Module]) -> Architecture:
    """A backbone whose layer sizes are the paper's own: ``--width`` does not apply to it."""
    return Architecture(
        generator=lambda z_dim, img_channels, img_size, width: generator(
            z_dim, img_channels, img_size),
        discriminator=lambda img_channels, img_size, width: discriminator(
            img_channels, img_size),
    )


ARCHITECTURES: Registry[Architecture] = Registry("architecture")
ARCHITECTURES.register("mlp")(fixed_width(MLPGenerator, MLPDiscriminator))
ARCHITECTURES.register("dcgan")(Architecture(DCGANGenerator, DCGANDiscriminator))
ARCHITECTURES.register("infogan")(Architecture(InfoGANGenerator, InfoGANDiscriminator))
ARCHITECTURES.register("resnet")(Architecture(ResNetGenerator, ResNetDiscriminator))
ARCHITECTURES.register("improved-gan")(
    fixed_width(ImprovedGANGenerator, ImprovedGANDiscriminator))
ARCHITECTURES.register("toy")(
    Architecture(
        generator=lambda z_dim, img_channels, img_size, width: PointGenerator(
            z_dim, img_channels, width
        ),
        discriminator=lambda img_channels, img_size, width: PointDiscriminator(
            img_channels, width
        ),
        data="points",
    )
)

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "ImprovedGANDiscriminator",
    "ImprovedGANGenerator",
    "InfoGANDiscriminator",
    "InfoGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "PointDiscriminator",
    "PointGenerator",
    "ResNetDiscriminator",
    "ResNetGenerator",
]
