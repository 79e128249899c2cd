"""Gaussian and Laplacian image pyramids (Burt & Adelson 1983), as LAPGAN uses them (Denton et
al. 2015, sec. 3.1): ``d(I)`` halves an image, ``u(I)`` doubles it, and level k of the Laplacian
pyramid is the band-pass residual h_k = I_k - u(d(I_k)), the coarsest level the small image
itself. ``reconstruct`` undoes ``laplacian_pyramid`` exactly, whatever ``d`` and ``u`` are:
I_k = u(I_{k+1}) + h_k.

``downsample`` is a 2x2 average (a box filter), not Burt and Adelson's 5-tap Gaussian: on the
small images GANs are trained on (MNIST's 28 -> 14 -> 7) a 5-tap kernel reaches over a third of
a 7-pixel image, so how its borders are padded decides much of the coarse image; the box filter
needs no padding, keeps each coarse pixel the exact mean of its four children (so a coarse
image of [-1, 1] data is again in [-1, 1]) and works for every even size. ``upsample`` is
bilinear: a nearest-neighbour u would leave the blocks of the coarse pixels in u(d(I)), and
every residual would have to carry their edges.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganforge.errors import GanforgeError


def pyramid_sizes(img_size: int, levels: int | None = None, min_size: int = 4) -> list[int]:
    """Side lengths of the pyramid's levels, finest first: the image is halved while its side
    is even and the half at least ``min_size`` (28 -> [28, 14, 7], 32 -> [32, 16, 8, 4],
    8 -> [8, 4]); ``levels`` keeps only that many of them (coarsest included)."""
    sizes = [img_size]
    while sizes[-1] % 2 == 0 and sizes[-1] // 2 >= min_size:
        sizes.append(sizes[-1] // 2)
    if levels is not None:
        if not 1 <= levels <= len(sizes):
            raise GanforgeError(
                f"a {img_size}px image makes a pyramid of 1 to {len(sizes)} levels "
                f"({' -> '.join(map(str, sizes))} px, halving while the side is even and at "
                f"least {min_size}); got {levels}")
        sizes = sizes[:levels]
    return sizes


def downsample(x: torch.Tensor) -> torch.Tensor:
    """d(I): [N, C, H, W] -> [N, C, H/2, W/2], each pixel the mean of a 2x2 block."""
    if x.shape[-1] % 2 or x.shape[-2] % 2:
        raise GanforgeError(f"downsample halves even sizes, got {tuple(x.shape[-2:])}")
    return F.avg_pool2d(x, 2)


def upsample(x: torch.Tensor, size: int) -> torch.Tensor:
    """u(I): [N, C, h, w] -> [N, C, size, size] by bilinear interpolation."""
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


def pool_to(x: torch.Tensor, size: int) -> torch.Tensor:
    """[N, C, H, W] average-pooled down to ``size`` (H a multiple of it): real images at a
    coarser stage's resolution."""
    factor = x.shape[-1] // size
    return x if factor == 1 else F.avg_pool2d(x, factor)


def enlarge(x: torch.Tensor, size: int) -> torch.Tensor:
    """[N, C, h, w] repeated pixel by pixel (nearest) up to ``size``: a coarse stage shown at
    the full size, its pixels visible as blocks."""
    return x if x.shape[-1] == size else F.interpolate(x, size=(size, size), mode="nearest")


def gaussian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """[I_0 = x, I_1 = d(I_0), ..., I_{levels-1}]: the image at every level, finest first."""
    images = [x]
    for _ in range(levels - 1):
        images.append(downsample(images[-1]))
    return images


def laplacian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """[h_0, ..., h_{levels-2}, I_{levels-1}]: the residual of every level, finest first, then
    the coarsest image (eq. 1 of the LAPGAN paper)."""
    images = gaussian_pyramid(x, levels)
    residuals = [fine - upsample(coarse, fine.shape[-1])
                 for fine, coarse in zip(images, images[1:], strict=False)]
    return [*residuals, images[-1]]


def reconstruct(pyramid: list[torch.Tensor]) -> torch.Tensor:
    """The image of a Laplacian pyramid: I_k = u(I_{k+1}) + h_k from the coarsest level down
    (eq. 2)."""
    image = pyramid[-1]
    for residual in reversed(pyramid[:-1]):
        image = upsample(image, residual.shape[-1]) + residual
    return image
