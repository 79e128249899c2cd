"""S²-GAN's networks (Wang & Gupta 2016, "Generative Image Modeling using Style and Structure
Adversarial Networks"): the Style-GAN generator, which renders an image from a structure map and
noise, the fully convolutional network that reads the structure back from an image, and the
two generators joined into one image generator.

In the paper the structure is a surface-normal map and the FCN predicts it from an image; here
the structure is a digit's edge map (``edges2mnist``), as issue #26 scales the recipe down.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.nn import dcgan_init
from ganforge.nn.pyramid import pyramid_sizes


class StyleGenerator(nn.Module):
    """(structure s, noise z~) -> image: 4x4 stride-2 convolutions encode s down to the
    smallest pyramid size (4 px at 32, 7 px at 28), z~ joins there as feature maps from a
    linear layer (the paper joins its 100-d z~ to the structure's conv features), and
    up-convolutions with skips from the encoder (U-Net) decode the image. Without noise
    (``z_dim`` 0) it is the structure-reading FCN."""

    def __init__(self, in_channels: int, out_channels: int, img_size: int, z_dim: int = 0,
                 width: int = 32) -> None:
        super().__init__()
        sizes = pyramid_sizes(img_size)
        chs = [width * 2 ** i for i in range(len(sizes) - 1)]
        self.down = nn.ModuleList()
        c_in = in_channels
        for i, c in enumerate(chs):
            layers = [nn.Conv2d(c_in, c, 4, 2, 1, bias=i == 0)]
            self.down.append(nn.Sequential(*layers, *([nn.BatchNorm2d(c)] if i else []),
                                           nn.LeakyReLU(0.2)))
            c_in = c
        base, bottom = sizes[-1], chs[-1]
        self.z_dim, self.base, self.noise_channels = z_dim, base, bottom if z_dim else 0
        self.noise = (nn.Sequential(nn.Linear(z_dim, bottom * base * base, bias=False),
                                    nn.BatchNorm1d(bottom * base * base), nn.ReLU())
                      if z_dim else None)
        self.up = nn.ModuleList()
        c_in = bottom + self.noise_channels
        for c in reversed(chs[:-1]):
            self.up.append(nn.Sequential(nn.ConvTranspose2d(c_in, c, 4, 2, 1, bias=False),
                                         nn.BatchNorm2d(c), nn.ReLU()))
            c_in = 2 * c  # joined with the encoder's map of this size
        self.out = nn.Sequential(nn.ConvTranspose2d(c_in, out_channels, 4, 2, 1), nn.Tanh())
        dcgan_init(self)

    def forward(self, structure: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        skips, h = [], structure
        for layer in self.down:
            h = layer(h)
            skips.append(h)
        skips.pop()
        if self.noise is not None:
            planes = self.noise(z).view(len(z), self.noise_channels, self.base, self.base)
            h = torch.cat([h, planes], 1)
        for layer in self.up:
            h = torch.cat([layer(h), skips.pop()], 1)
        return self.out(h)


class StructureStyleGenerator(nn.Module):
    """G(z) with z = [z^, z~]: the Structure-GAN's generator draws a structure map from z^, the
    Style-GAN's renders the image from it and z~. ``stages`` gives both."""

    def __init__(self, structure: nn.Module, style: StyleGenerator, structure_dim: int) -> None:
        super().__init__()
        self.structure, self.style, self.structure_dim = structure, style, structure_dim

    def stages(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z_hat, z_tilde = z.split([self.structure_dim, z.shape[1] - self.structure_dim], 1)
        structure = self.structure(z_hat)
        return structure, self.style(structure, z_tilde)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.stages(z)[1]
