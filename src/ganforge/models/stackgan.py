"""StackGAN++'s networks (Zhang et al. 2018, "StackGAN++: Realistic Image Synthesis with Stacked
Generative Adversarial Networks"): a tree of generators that share their hidden features, one
image per scale, and a small discriminator for scales too small for the DCGAN one.

The tree (sec. 4.1): F0 turns [z, c] into hidden features h0 at the coarsest scale; each
further F_i joins the text code c, spatially replicated, to h_{i-1}, passes them through
residual blocks and doubles the resolution; a 3x3 convolution G_i draws the image of scale i
from h_i. Every block gates with GLU, as the paper's code does. Here the coarsest scale is the
image size halved once per further stage (28 px and 3 stages: 7, 14, 28 px).
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.models.dcgan import FlatFeatureDiscriminator
from ganforge.models.text import ConditioningAugmentation, SentenceEncoder, ca_kl, sentence
from ganforge.nn import dcgan_init


def glu_conv(c_in: int, c_out: int) -> nn.Sequential:
    """3x3 convolution to 2 * c_out channels, batch norm, GLU over the channels."""
    return nn.Sequential(nn.Conv2d(c_in, 2 * c_out, 3, 1, 1, bias=False),
                         nn.BatchNorm2d(2 * c_out), nn.GLU(dim=1))


class ResidualGLU(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(glu_conv(channels, channels),
                                   nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
                                   nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class Branch(nn.Module):
    """F_i for i >= 1: [h_{i-1}, c] -> joined -> two residual blocks -> 2x upsampled h_i."""

    def __init__(self, channels: int, code_dim: int) -> None:
        super().__init__()
        self.join = glu_conv(channels + code_dim, channels)
        self.residual = nn.Sequential(ResidualGLU(channels), ResidualGLU(channels))
        self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                glu_conv(channels, channels // 2))

    def forward(self, h: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        plane = code[:, :, None, None].expand(-1, -1, *h.shape[-2:])
        return self.up(self.residual(self.join(torch.cat([h, plane], dim=1))))


class TreeGenerator(nn.Module):
    """G(z, t): the images of every scale, coarsest first, from one pass down the tree. It has
    the interface of :class:`ganforge.models.text.TextConditionedGenerator` (``embed``,
    ``stages``, ``forward``), so text2img's losses and sampling serve it unchanged."""

    def __init__(self, z_dim: int, encoder: SentenceEncoder,
                 augmentation: ConditioningAugmentation, img_channels: int, sizes: list[int],
                 width: int = 32) -> None:
        super().__init__()
        self.encoder = encoder
        self.augmentation = augmentation
        code = augmentation.out_dim
        # ``width`` channels at the coarsest scale, halved at each upsampling: the tree's
        # residual blocks work at every scale, and with DCGAN's schedule (width at full size)
        # one step of G cost 18x text2img's on a CPU core (3x with this one).
        channels = width
        self.base, self.channels = sizes[0], channels
        self.first = nn.Sequential(
            nn.Linear(z_dim + code, 2 * channels * sizes[0] ** 2, bias=False),
            nn.BatchNorm1d(2 * channels * sizes[0] ** 2), nn.GLU(dim=1))
        self.first_conv = glu_conv(channels, channels)
        self.branches = nn.ModuleList()
        heads = [channels]
        for _ in sizes[1:]:
            self.branches.append(Branch(heads[-1], code))
            heads.append(heads[-1] // 2)
        self.to_image = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, img_channels, 3, 1, 1), nn.Tanh()) for c in heads)
        dcgan_init(self)

    def embed(self, text: torch.Tensor) -> torch.Tensor:
        return sentence(self.encoder, text)

    def stages(self, z: torch.Tensor, text: torch.Tensor) -> tuple[list[torch.Tensor],
                                                                    torch.Tensor]:
        """The image of every scale (coarsest first) and the augmentation's KL term; the last
        ``augmentation.out_dim`` columns of z are the augmentation's eps."""
        z, eps = z.split([z.shape[1] - self.augmentation.out_dim, self.augmentation.out_dim], 1)
        c, mu, log_sigma = self.augmentation(self.embed(text), eps)
        h = self.first(torch.cat([z, c], dim=1)).view(-1, self.channels, self.base, self.base)
        h = self.first_conv(h)
        images = [self.to_image[0](h)]
        for branch, to_image in zip(self.branches, self.to_image[1:], strict=True):
            h = branch(h, c)
            images.append(to_image(h))
        return images, ca_kl(mu, log_sigma)

    def forward(self, z: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return self.stages(z, text)[0][-1]


class SmallScaleDiscriminator(FlatFeatureDiscriminator):
    """A D for the coarsest scales (7 px), which the DCGAN D does not take: a 3x3 convolution,
    then strided 4x4 ones while the side is above 4, LeakyReLU 0.2, batch norm after the first.
    Flat features and a linear ``head``, as the backbones have."""

    def __init__(self, img_channels: int, img_size: int, width: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(img_channels, width, 3, 1, 1), nn.LeakyReLU(0.2)]
        ch, size = width, img_size
        while size > 4:
            layers += [nn.Conv2d(ch, 2 * ch, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * ch),
                       nn.LeakyReLU(0.2)]
            ch, size = 2 * ch, size // 2
        self.body = nn.Sequential(*layers)
        self.feature_dim = ch * size * size
        self.head = nn.Linear(self.feature_dim, 1)
        dcgan_init(self)
