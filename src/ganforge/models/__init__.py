"""Generators and discriminators: plain nn.Modules, forward only, D returns raw logits.

``ARCHITECTURES`` maps a backbone name to its (generator, discriminator) builders, each called
with keyword arguments z_dim / img_channels / img_size / width.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from ganforge.models.dcgan import DCGANDiscriminator, DCGANGenerator
from ganforge.models.mlp import MLPDiscriminator, MLPGenerator
from ganforge.registry import Registry


@dataclass(frozen=True)
class Architecture:
    generator: Callable[..., nn.Module]
    discriminator: Callable[..., nn.Module]


ARCHITECTURES: Registry[Architecture] = Registry("architecture")
ARCHITECTURES.register("mlp")(
    Architecture(
        generator=lambda z_dim, img_channels, img_size, width: MLPGenerator(
            z_dim, img_channels, img_size
        ),
        discriminator=lambda img_channels, img_size, width: MLPDiscriminator(
            img_channels, img_size
        ),
    )
)
ARCHITECTURES.register("dcgan")(Architecture(DCGANGenerator, DCGANDiscriminator))

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
]
