"""StarGAN's networks (Choi et al. 2018, appendix): one G for many domains conditioned on a
target-domain vector; D with a real/fake and a domain head."""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import GanforgeError
from ganforge.models.translation import ResnetGenerator
from ganforge.nn import dcgan_init


class StarGenerator(nn.Module):
    """StarGAN's G(x, c): the target-domain vector c [N, num_domains] is tiled over the image
    and concatenated to it as extra channels, then a ``ResnetGenerator`` with affine instance
    norm translates it. Its first conv pads with zeros, as StarGAN's: the tiled c is constant
    over the image, so with reflection padding its share of that conv's output would be
    constant too, and the instance norm after it would subtract it away, leaving G blind to
    the target; zero padding makes it differ near the borders, where it survives the norm.
    StarGAN's down/up convs are 4x4; this reuses CycleGAN's 3x3, with the same shapes."""

    def __init__(self, img_channels: int, num_domains: int, width: int = 64,
                 n_blocks: int = 6) -> None:
        super().__init__()
        self.num_domains = num_domains
        self.net = ResnetGenerator(img_channels + num_domains, img_channels, width, n_blocks,
                                   norm="instance-affine", reflect_input=False)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        if c.shape != (len(x), self.num_domains):
            raise GanforgeError(f"StarGenerator expects target domains [N, {self.num_domains}] "
                                f"for {len(x)} images, got {tuple(c.shape)}")
        c = c.to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[2:])
        return self.net(torch.cat([x, c], 1))


def _star_layers(img_size: int) -> int:
    """log2(img_size) - 1 halvings, at most 6, for a final map of at least 2x2."""
    n = 0
    while n < 6 and img_size % 2 ** (n + 1) == 0 and img_size // 2 ** (n + 1) >= 2:
        n += 1
    return n


class StarDiscriminator(nn.Module):
    """StarGAN's D: ``n_layers`` 4x4 stride-2 convs doubling channels from ``width``, LeakyReLU
    0.01, no normalisation (its gradient penalty forbids batch norm). Two heads read the final
    map: ``src``, a 3x3 conv giving PatchGAN real/fake logits [N, 1, h, w], and ``cls``, a conv
    as large as the map giving domain logits [N, num_domains]. forward(x) returns both."""

    def __init__(self, img_channels: int, img_size: int, num_domains: int, width: int = 64,
                 n_layers: int | None = None) -> None:
        super().__init__()
        n_layers = _star_layers(img_size) if n_layers is None else n_layers
        if n_layers < 1 or img_size % 2**n_layers:
            raise GanforgeError(f"StarDiscriminator needs an image size that halves evenly "
                                f"n_layers >= 1 times, got {img_size} with n_layers={n_layers}")
        layers: list[nn.Module] = []
        ch = img_channels
        for i in range(n_layers):
            layers += [nn.Conv2d(ch, width * 2**i, 4, 2, 1), nn.LeakyReLU(0.01, True)]
            ch = width * 2**i
        self.body = nn.Sequential(*layers)
        self.src = nn.Conv2d(ch, 1, 3, 1, 1, bias=False)
        self.cls = nn.Conv2d(ch, num_domains, img_size // 2**n_layers, bias=False)
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.src(h), self.cls(h).flatten(1)


