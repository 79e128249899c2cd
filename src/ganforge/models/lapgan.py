"""The networks of LAPGAN (Denton et al. 2015): at each level of a Laplacian pyramid but the
coarsest, a generator of the residual h_k given the blurred image l_k = u(I_{k+1}) and a
discriminator of (l_k + h, l_k) pairs; the whole pyramid as one generator for sampling (sec.
3.2, fig. 1).

The coarsest level is an ordinary GAN on the small image, built from any backbone of
``ARCHITECTURES`` by the method. With ``num_classes`` every network also sees the class, as one
more input plane (the paper's class-conditional CIFAR-10 models pass the one-hot label through
a linear layer reshaped to a plane).
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import GanforgeError
from ganforge.models.conditional import ConditionedGenerator
from ganforge.nn import dcgan_init
from ganforge.nn.layers import LabelPlane
from ganforge.nn.pyramid import upsample


class ResidualGenerator(nn.Module):
    """G_k(z, l): the noise vector projected to one image plane beside the blurred image l (the
    paper feeds its noise as a fourth colour plane), then three 3x3 convolutions, the first two
    with batch norm and ReLU, to an ``img_channels`` residual. The output is linear: residuals
    are signed and mostly near 0."""

    def __init__(self, z_dim: int = 100, img_channels: int = 1, img_size: int = 28,
                 width: int = 64, num_classes: int = 0) -> None:
        super().__init__()
        self.img_size = img_size
        self.noise = nn.Linear(z_dim, img_size * img_size)
        self.label = LabelPlane(num_classes, img_size) if num_classes else None
        self.net = nn.Sequential(
            nn.Conv2d(img_channels + 1 + bool(num_classes), width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
            nn.Conv2d(width, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
            nn.Conv2d(width, img_channels, 3, 1, 1),
        )
        dcgan_init(self)
        # Unit-variance noise plane at the start, as if drawn directly per pixel.
        nn.init.normal_(self.noise.weight, 0.0, z_dim ** -0.5)

    def forward(self, z: torch.Tensor, low: torch.Tensor, y: torch.Tensor | None = None
                ) -> torch.Tensor:
        plane = self.noise(z).view(len(z), 1, self.img_size, self.img_size)
        return self.net(torch.cat([low, plane.to(low.dtype), *with_label(self.label, y, low)],
                                  dim=1))


class ResidualDiscriminator(nn.Module):
    """D_k(x, l): the image and the blurred image it is judged against as 2C input planes
    (the paper adds l to h before D's first layer and gives l beside it), two strided 4x4
    convolutions (LeakyReLU 0.2, batch norm on the second), a linear logit. Has the ganforge D
    shape: ``features`` then ``head``."""

    def __init__(self, img_channels: int = 1, img_size: int = 28, width: int = 64,
                 num_classes: int = 0) -> None:
        super().__init__()
        if img_size < 4:
            raise GanforgeError(f"ResidualDiscriminator needs images of 4 px or more, got "
                                f"{img_size}")
        self.label = LabelPlane(num_classes, img_size) if num_classes else None
        self.body = nn.Sequential(
            nn.Conv2d(2 * img_channels + bool(num_classes), width, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False),
            nn.BatchNorm2d(2 * width),
            nn.LeakyReLU(0.2, True),
        )
        self.feature_dim = 2 * width * (img_size // 4) ** 2
        self.head = nn.Linear(self.feature_dim, 1)
        dcgan_init(self)

    def features(self, x: torch.Tensor, low: torch.Tensor, y: torch.Tensor | None = None
                 ) -> torch.Tensor:
        return self.body(torch.cat([x, low, *with_label(self.label, y, x)], dim=1)).flatten(1)

    def logits(self, h: torch.Tensor, low: torch.Tensor, y: torch.Tensor | None = None
               ) -> torch.Tensor:
        return self.head(h).squeeze(1)

    def forward(self, x: torch.Tensor, low: torch.Tensor, y: torch.Tensor | None = None
                ) -> torch.Tensor:
        return self.logits(self.features(x, low, y), low, y)


def with_label(embed: LabelPlane | None, y: torch.Tensor | None,
               like: torch.Tensor) -> list[torch.Tensor]:
    """The class plane to stack beside a residual network's inputs: none for an unconditional
    network, and a clear error when a class-conditional one is not given the class."""
    check_classes(embed is not None, y)
    return [] if embed is None else [embed.plane(y, like)]


def check_classes(conditional: bool, y: torch.Tensor | None) -> None:
    if conditional and y is None:
        raise GanforgeError("this LAPGAN is class-conditional: give the classes to draw")
    if y is not None and not conditional:
        raise GanforgeError("this LAPGAN draws no classes (train cc-lapgan for that); drop them")


class LaplacianPyramidGenerator(nn.Module):
    """The sampling procedure of LAPGAN (sec. 3.2): I_K = G_K(z_K), then
    I_k = u(I_{k+1}) + G_k(z_k, u(I_{k+1})) down to the finest level.

    ``residual[k]`` is the generator of level k at ``sizes[k]`` (finest first), ``coarse`` that
    of ``sizes[-1]``. The latent holds every level's noise, one ``z_dim`` vector each, in the
    order they are used: [z_K, z_{K-1}, ..., z_0], so G is a function of z alone. The data lie
    in [-1, 1], so each level's image is clamped there before it conditions the next.
    """

    def __init__(self, coarse: nn.Module, residual: list[nn.Module], sizes: list[int],
                 z_dim: int) -> None:
        super().__init__()
        if len(residual) != len(sizes) - 1:
            raise GanforgeError(f"{len(sizes)} levels need {len(sizes) - 1} residual "
                                f"generators, got {len(residual)}")
        self.coarse = coarse
        self.residual = nn.ModuleList(residual)
        self.sizes = list(sizes)
        self.z_dim = z_dim

    @property
    def latent_size(self) -> int:
        return len(self.sizes) * self.z_dim

    def coarse_image(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The coarsest level's image from its noise (and class)."""
        check_classes(isinstance(self.coarse, ConditionedGenerator), y)
        return self.coarse(z) if y is None else self.coarse(z, y)

    def levels(self, z: torch.Tensor, y: torch.Tensor | None = None
               ) -> list[dict[str, torch.Tensor]]:
        """Every level's pictures, coarsest first: {"image"} for the coarsest, then
        {"low": u(I_{k+1}), "residual": h_k, "image": I_k} for each finer level; ``y`` the
        classes of a class-conditional pyramid."""
        if z.dim() != 2 or z.shape[1] != self.latent_size:
            raise GanforgeError(
                f"LAPGAN's latent holds {self.z_dim} noise values for each of its "
                f"{len(self.sizes)} levels, {self.latent_size} in all; got z of shape "
                f"{list(z.shape)}")
        noise = z.split(self.z_dim, dim=1)
        image = self.coarse_image(noise[0], y)
        out = [{"image": image}]
        for z_k, G_k, size in zip(noise[1:], reversed(self.residual), reversed(self.sizes[:-1]),
                                  strict=True):
            low = upsample(image, size)
            residual = G_k(z_k, low, y)
            image = (low + residual).clamp(-1.0, 1.0)
            out.append({"low": low, "residual": residual, "image": image})
        return out

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.levels(z, y)[-1]["image"]
