"""The PatchGAN discriminator of pix2pix (Isola et al. 2017, appendix 6.1.2) and CycleGAN: one
logit per overlapping patch; ``receptive_field`` and ``patch_layers_for`` relate patch size to
depth."""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import GanforgeError
from ganforge.models.translation import NORMS, check_norm, conv_norm
from ganforge.nn import dcgan_init
from ganforge.nn.layers import spectral_norm_all


def receptive_field(module: nn.Module) -> int:
    """Side, in input pixels, of the square that one output unit of a plain stack of
    convolutions sees: walking its Conv2d layers in order, r += (k - 1) * dilation * jump and
    jump *= stride, from r = jump = 1 (Araujo et al. 2019, "Computing Receptive Fields of
    Convolutional Neural Networks"). Other layers are ignored, so the answer holds only for a
    single chain of convolutions and pointwise layers."""
    r = jump = 1
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            r += (m.kernel_size[0] - 1) * m.dilation[0] * jump
            jump *= m.stride[0]
    return r


# n stride-2 and two stride-1 4x4 convs see 1 + 3 * (2**n - 1 + 2 * 2**n) = 9 * 2**n - 2 pixels.
PATCH_SIZES = {9 * 2**n - 2: n for n in range(1, 6)}


def patch_layers_for(receptive: int) -> int:
    """``PatchDiscriminator``'s ``n_layers`` for a patch (receptive field) of ``receptive``
    pixels: 16 -> 1, 34 -> 2, 70 -> 3 (pix2pix's default), 142 -> 4, 286 -> 5."""
    if receptive not in PATCH_SIZES:
        raise GanforgeError(f"no PatchGAN sees {receptive}x{receptive} patches; choose one of "
                            f"{', '.join(map(str, PATCH_SIZES))}")
    return PATCH_SIZES[receptive]


class PatchDiscriminator(nn.Module):
    """PatchGAN (pix2pix, appendix 6.1.2; CycleGAN): C64-C128-C256-... with 4x4 stride-2 convs
    for the first ``n_layers``, one 4x4 stride-1 conv, then a 4x4 stride-1 conv to one channel;
    padding 1, LeakyReLU 0.2, no norm on the first layer. Channels are ``width * 2**i`` capped
    at ``max_width``, as in the reference code (so the stride-1 conv has 8 * width channels for
    n_layers >= 3, fewer below).

    forward(x) gives raw logits [N, 1, H', W'], one per overlapping patch of side
    ``receptive_field(D)`` (70 for n_layers=3); the loss averages them. pix2pix's conditional D
    reads the input and output images concatenated: in_channels = the sum of both.
    ``norm="spectral"`` drops the norm layers and spectrally normalises every conv instead.
    """

    def __init__(self, in_channels: int, width: int = 64, n_layers: int = 3,
                 norm: str = "batch", max_width: int = 512) -> None:
        super().__init__()
        check_norm(norm, (*NORMS, "spectral"))
        if n_layers < 1:
            raise GanforgeError(f"PatchDiscriminator needs n_layers >= 1, got {n_layers}")
        layer_norm = "none" if norm == "spectral" else norm
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        ch = width
        for i in range(1, n_layers + 1):
            out = min(width * 2**i, max_width)
            stride = 2 if i < n_layers else 1
            layers += [*conv_norm(ch, out, 4, stride, 1, layer_norm), nn.LeakyReLU(0.2, True)]
            ch = out
        layers.append(nn.Conv2d(ch, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        dcgan_init(self)
        if norm == "spectral":
            spectral_norm_all(self)  # after init: it reparametrises the weights it finds

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def patch_discriminator(channels: int, img_size: int, receptive_field: int, width: int,
                        norm: str = "batch") -> PatchDiscriminator:
    """A PatchGAN seeing ``receptive_field`` pixels of ``img_size`` images; a one-line error
    naming the patch sizes that fit when the image is too small for it."""
    n_layers = patch_layers_for(receptive_field)
    if img_size // 2**n_layers < 3:
        fits = [r for r, n in PATCH_SIZES.items() if img_size // 2**n >= 3]
        raise GanforgeError(f"--patch {receptive_field} needs images of at least "
                            f"{3 * 2**n_layers} px; at {img_size} px choose "
                            f"{' or '.join(map(str, fits)) or 'a larger --image-size'}")
    return PatchDiscriminator(channels, width=width, n_layers=n_layers, norm=norm)
